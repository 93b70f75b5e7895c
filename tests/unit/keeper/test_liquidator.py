"""The liquidator's decisions and loop against an in-memory exchange."""

from __future__ import annotations

from tests.unit.keeper.exchange import BTC, KEEPER, Exchange, Holding

from perpdex.core.margin import Health
from perpdex.core.types import Address, Collateral, MarketId, Price, Size
from perpdex.core.units import to_collateral_units, to_price_units, to_size_units
from perpdex.keeper.accounts import AccountView, PositionView
from perpdex.keeper.liquidator import (
    Deleveraged,
    Liquidated,
    Liquidator,
    LiquidatorConfig,
    Target,
    counterparties,
    targets,
)

ETH = MarketId(1)
ALICE, BOB, CAROL, MAKER = (Address(n) for n in ("0xa", "0xb", "0xc", "0xm"))


def health(equity: int, maintenance: int) -> Health:
    return Health(Collateral(equity), Collateral(2 * maintenance), Collateral(maintenance))


def position(
    market: MarketId, size: int, quote: int = 0, own: Health | None = None
) -> PositionView:
    return PositionView(market, Size(size), Collateral(quote), own is not None, Collateral(0), own)


def test_targets_are_the_largest_cross_position_and_each_isolated_one_below() -> None:
    prices = {BTC: Price(100), ETH: Price(10)}
    account = AccountView(
        ALICE,
        health(99, 100),
        (
            position(BTC, 5),  # notional 500
            position(ETH, -60),  # notional 600: the larger
            position(MarketId(2), 1, own=health(5, 6)),
            position(MarketId(3), 1, own=health(6, 6)),  # at maintenance: fine
        ),
        1,
    )
    prices[MarketId(2)] = prices[MarketId(3)] = Price(1)
    assert targets(account, prices) == [Target(ALICE, MarketId(2)), Target(ALICE, ETH)]
    healthy = AccountView(ALICE, health(100, 100), account.positions[:2], 1)
    assert targets(healthy, prices) == []


def test_counterparties_are_opposite_and_profitable_most_profitable_first() -> None:
    scale = 10**8
    prices = {BTC: Price(100)}
    bankrupt = AccountView(ALICE, health(-5, 10), (position(BTC, scale),), 1)
    others = [
        AccountView(BOB, health(0, 1), (position(BTC, -scale, quote=150),), 1),  # +50
        AccountView(CAROL, health(0, 1), (position(BTC, -scale, quote=300),), 1),  # +200
        AccountView(MAKER, health(0, 1), (position(BTC, -scale, quote=90),), 1),  # -10
        AccountView(Address("0xd"), health(0, 1), (position(BTC, scale, quote=0),), 1),  # long
    ]
    target = Target(ALICE, BTC)
    assert counterparties([bankrupt, *others], target, prices) == [CAROL, BOB]


def exchange_with_longs(*traders: Address) -> Exchange:
    """Each trader long 1.8 BTC from 100,000 with 10,000 USDC; the maker short it all."""
    exchange = Exchange(to_price_units("100000"))
    size = to_size_units("1.8")
    cost = 180_000 * 10**6
    for trader in traders:
        exchange.accounts_[trader] = Holding(to_collateral_units("10000"), size, -cost)
    exchange.accounts_[MAKER] = Holding(
        to_collateral_units("1000000"), -size * len(traders), cost * len(traders)
    )
    exchange.accounts_[KEEPER] = Holding(to_collateral_units("1000000"))
    return exchange


def below(exchange: Exchange, trader: Address) -> bool:
    held = exchange.health(exchange.accounts_[trader])
    return held.equity < held.maintenance


def test_every_account_below_maintenance_is_stepped_back_up_in_shared_blocks() -> None:
    exchange = exchange_with_longs(ALICE, BOB)
    liquidator = Liquidator(exchange, exchange)
    assert liquidator.tick() == []  # nobody below maintenance at 100,000
    exchange.price = to_price_units("97000")
    exchange.mine()
    liquidator.on_price(exchange.block)
    actions = liquidator.tick()
    assert {a.target for a in actions} == {Target(ALICE, BTC), Target(BOB, BTC)}
    assert all(isinstance(a, Liquidated) for a in actions)
    assert not below(exchange, ALICE) and not below(exchange, BOB)
    assert exchange.accounts_[ALICE].size > 0  # partial: 30% steps, not the whole
    assert [sample.blocks for sample in liquidator.latencies] == [1, 1]
    assert liquidator.max_latency == 1
    taken = sum(-exchange.accounts_[t].size + to_size_units("1.8") for t in (ALICE, BOB))
    assert exchange.accounts_[KEEPER].size == taken  # held


def test_it_steps_again_until_the_account_is_back_at_maintenance() -> None:
    exchange = exchange_with_longs(ALICE)
    liquidator = Liquidator(exchange, exchange)
    exchange.price = to_price_units("96000")
    actions = liquidator.tick()
    assert len(actions) > 1
    assert not below(exchange, ALICE)
    assert len(liquidator.latencies) == 1  # measured at the first step only


def test_no_scan_without_a_price_change_until_the_rescan_period() -> None:
    exchange = exchange_with_longs(ALICE)
    now = [0.0]
    liquidator = Liquidator(
        exchange, exchange, clock=lambda: now[0], config=LiquidatorConfig(rescan_s=10)
    )
    liquidator.tick()
    reads = exchange.reads
    liquidator.tick()
    assert exchange.reads == reads
    now[0] = 10.0
    liquidator.tick()
    assert exchange.reads == reads + 1


def test_a_stale_price_or_a_pending_step_waits() -> None:
    exchange = exchange_with_longs(ALICE)
    exchange.price, exchange.fresh = to_price_units("97000"), False
    liquidator = Liquidator(exchange, exchange)
    assert liquidator.tick() == []
    exchange.fresh = True
    exchange.in_flight.add((ALICE, BTC))
    assert liquidator.tick() == []
    assert exchange.sent == []
    exchange.in_flight.clear()
    liquidator.on_price(exchange.block)
    assert liquidator.tick() != []


class Lagging(Exchange):
    """Reads the accounts at an older, lower price: another liquidator stepped since."""

    def accounts(self) -> list[AccountView]:
        price, self.price = self.price, to_price_units("97000")
        try:
            return super().accounts()
        finally:
            self.price = price


def test_someone_else_first_is_not_an_error() -> None:
    exchange = Lagging(to_price_units("100000"))
    exchange.accounts_ = exchange_with_longs(ALICE).accounts_
    assert Liquidator(exchange, exchange).tick() == []
    assert exchange.sent == []


def test_a_bankrupt_account_the_fund_cannot_cover_is_deleveraged() -> None:
    exchange = exchange_with_longs(ALICE)
    exchange.accounts_[BOB] = Holding(0, -to_size_units("0.5"), 50_000 * 10**6)  # less profit
    exchange.accounts_[MAKER].size += to_size_units("0.5")
    exchange.accounts_[MAKER].quote -= 50_000 * 10**6
    exchange.price = to_price_units("90000")  # Alice: -8,000
    liquidator = Liquidator(exchange, exchange)
    actions = liquidator.tick()
    # the maker (13,000 of profit, 1.3 BTC) first, then Bob (5,000, 0.5 BTC) for the rest
    assert [(type(a), a.counterparty) for a in actions if isinstance(a, Deleveraged)] == [
        (Deleveraged, MAKER),
        (Deleveraged, BOB),
    ]
    assert exchange.sent == [("deleverage", MAKER), ("deleverage", BOB)]
    assert exchange.accounts_[ALICE].size == 0
    assert exchange.health(exchange.accounts_[ALICE]).equity == 0
