"""The live demo's config: every listed market quoted and taken at the same notional in
whole lots, the bots' wallets fixed by the seed, the oracle walks seeded per market."""

from __future__ import annotations

from dataclasses import asdict, replace

import pytest

from perpdex.bots.config import BotsConfig
from perpdex.bots.runner import bot_wallets
from perpdex.chain.deployment import ListedMarket
from perpdex.chain.markets import default_markets
from perpdex.core.types import MarketId, Size
from perpdex.core.units import to_collateral_units, units

MARKETS = tuple(
    ListedMarket(**asdict(spec), id=MarketId(i)) for i, spec in enumerate(default_markets())
)


def usdc_of(size: Size, market: ListedMarket) -> int:
    return size * market.index_price // units().size_scale


def test_every_market_is_quoted_and_taken_at_the_same_notional_in_whole_lots() -> None:
    config = BotsConfig()
    for market in MARKETS:
        maker, taker = config.maker_spec(market), config.taker_spec(market)
        for size, usdc in (
            (maker.base_size, config.level_usdc),
            (maker.max_inventory, config.max_inventory_usdc),
            (taker.min_size, config.taker_min_usdc),
            (taker.max_size, config.taker_max_usdc),
        ):
            assert size % market.lot_size == 0, market.symbol
            # at most the notional, and less than a lot short of it
            lot = usdc_of(market.lot_size, market)
            assert 0 <= to_collateral_units(usdc) - usdc_of(size, market) < lot, market.symbol
        assert taker.collateral == to_collateral_units(config.taker_usdc)


def test_a_notional_under_one_lot_still_trades_one_lot() -> None:
    config = BotsConfig(taker_min_usdc=1, taker_max_usdc=1)
    for market in MARKETS:
        assert config.taker_spec(market).min_size == market.lot_size


def test_bad_configs_are_refused() -> None:
    with pytest.raises(ValueError):
        BotsConfig(levels=0)
    with pytest.raises(ValueError):
        BotsConfig(taker_min_usdc=2_000, taker_max_usdc=1_000)


def test_bot_wallets_are_one_maker_and_the_takers_per_market_fixed_by_the_seed() -> None:
    config = BotsConfig(takers=2)
    wallets = bot_wallets(MARKETS, config)
    assert [(w.role, w.index, w.market.symbol) for w in wallets] == [
        ("maker", 0, "BTC-PERP"),
        ("taker", 1, "BTC-PERP"),
        ("taker", 2, "BTC-PERP"),
        ("maker", 0, "ETH-PERP"),
        ("taker", 1, "ETH-PERP"),
        ("taker", 2, "ETH-PERP"),
    ]
    addresses = [w.key.address for w in wallets]
    assert len(set(addresses)) == len(addresses)
    assert addresses == [w.key.address for w in bot_wallets(MARKETS, config)]
    other = bot_wallets(MARKETS, replace(config, seed=2))
    assert not set(addresses) & {w.key.address for w in other}


def test_the_oracle_walks_start_at_the_listed_price_seeded_per_market() -> None:
    walks = BotsConfig(seed=5).price_walks(MARKETS)
    assert {m: (w.start, w.seed) for m, w in walks.items()} == {
        MarketId(0): (MARKETS[0].index_price, 5),
        MarketId(1): (MARKETS[1].index_price, 6),
    }
