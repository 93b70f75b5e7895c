"""perpdex.chain.markets: the demo market specs obey the contract's listing rules."""

from __future__ import annotations

from dataclasses import replace

import pytest

from perpdex.chain.markets import default_markets
from perpdex.core.units import units


def test_default_markets() -> None:
    btc, eth = default_markets()
    assert (btc.symbol, eth.symbol) == ("BTC-PERP", "ETH-PERP")
    assert btc.index_price == 100_000 * 10 ** units().price_decimals
    assert (btc.tick_size, btc.lot_size) == (100_000, 10_000)
    assert (eth.tick_size, eth.lot_size) == (10_000, 1_000_000)
    for market in (btc, eth):
        assert market.tick_size * market.lot_size % units().size_scale == 0
        assert market.index_price % market.tick_size == 0


def test_oracle_answer_is_the_index_price_at_oracle_decimals() -> None:
    btc = default_markets()[0]
    assert btc.oracle_answer == 100_000 * 10**btc.oracle_decimals
    assert replace(btc, oracle_decimals=18).oracle_answer == 100_000 * 10**18


def test_inexact_grid_is_refused() -> None:
    with pytest.raises(ValueError, match="multiple of SIZE_SCALE"):
        replace(default_markets()[0], lot_size=1)


def test_oracle_coarser_than_prices_is_refused() -> None:
    with pytest.raises(ValueError, match="fewer decimals"):
        replace(default_markets()[0], oracle_decimals=units().price_decimals - 1)
