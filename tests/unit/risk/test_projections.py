"""The position manager's cached projections (chain account + pending fills) against
projecting again from scratch, after every kind of change in any order.

The manager keeps each trader's projection and only extends it when an engine fill joins
the pending ones, and re-derives margins alone when prices move; a change it fails to
project (a fill settled, a fee or funding index folded from the chain) would leave a
trader's margin wrong for the pre-trade check. The reference here projects each trader
from the ledger's account and the pending fills in engine order, as the manager's first
projection does.
"""

from __future__ import annotations

from typing import cast

from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule

from perpdex.core.eip712 import (
    ChainId,
    Eip712Domain,
    FeePpm,
    Nonce,
    Order,
    UnixTime,
    sign_order,
)
from perpdex.core.margin import MarginPpm
from perpdex.core.signing import SigningKey
from perpdex.core.types import (
    Address,
    Collateral,
    MarginMode,
    MarketId,
    OrderId,
    Price,
    Side,
    Size,
    TimeInForce,
)
from perpdex.core.units import to_collateral_units, to_price_units, to_size_units
from perpdex.engine.events import Filled
from perpdex.risk import health
from perpdex.risk.events import (
    ChainEvent,
    Deposited,
    FundingPosted,
    LogPosition,
    MarketParamsSet,
)
from perpdex.risk.indexer import ChainIndexer, IndexedBlocks
from perpdex.risk.ledger import Account
from perpdex.risk.manager import PositionManager
from perpdex.risk.prices import PriceFeed, Quote
from perpdex.settlement.outcomes import Rejected, RejectReason, Settled, TxHash
from perpdex.settlement.payload import order_payload

KEYS = [SigningKey(bytes([i + 1]) * 32) for i in range(3)]
DOMAIN = Eip712Domain(ChainId(31337), SigningKey(b"\x09" * 32).address)  # any address
TRADERS = [key.address for key in KEYS]
MARKETS = [MarketId(0), MarketId(1)]
PRICE_UNIT = to_price_units(1)
SIZE_UNIT = to_size_units(1)
COLLATERAL_UNIT = to_collateral_units(1)


def _params(market: MarketId, at: int, maker_fee: int, taker_fee: int) -> MarketParamsSet:
    return MarketParamsSet(
        LogPosition(at, market), market, MarginPpm(50_000), MarginPpm(30_000), maker_fee, taker_fee
    )


class Projections(RuleBasedStateMachine):
    """Fills join and leave the pending ones, the chain folds deposits, fee changes and
    funding posts, and prices move; every cached projection and margin must stay what
    projecting again gives."""

    def __init__(self) -> None:
        super().__init__()
        # the indexer and the price feed are the chain's: these rules hand the manager
        # what they would read instead
        self.pm = PositionManager(cast(ChainIndexer, None), cast(PriceFeed, None), DOMAIN)
        self.block = 0
        self.nonce = 0

    def _fold(self, *events: ChainEvent) -> None:
        self.block += 1
        self.pm.apply(IndexedBlocks(list(events), self.block))

    @initialize()
    def list_and_fund(self) -> None:
        self._fold(
            *(_params(market, 0, 200, 500) for market in MARKETS),
            *(
                Deposited(LogPosition(1, i), trader, Collateral(1_000_000 * COLLATERAL_UNIT))
                for i, trader in enumerate(TRADERS)
            ),
        )
        self.pm.set_quotes({m: Quote(Price(100 * PRICE_UNIT), True, 200, 500) for m in MARKETS})

    def _signed(self, key: SigningKey, market: MarketId, side: Side, mode: MarginMode) -> bytes:
        self.nonce += 1
        order = Order(
            trader=key.address,
            market=market,
            is_buy=side is Side.BUY,
            size=Size(1_000 * SIZE_UNIT),
            limit_price=Price(10_000 * PRICE_UNIT if side is Side.BUY else 1),
            max_fee_ppm=FeePpm(1_000),
            margin_mode=mode,
            time_in_force=TimeInForce.GTC,
            reduce_only=False,
            expiry=UnixTime(2**40),
            nonce=Nonce(self.nonce),
        )
        return order_payload(sign_order(order, key, DOMAIN))

    @rule(
        pair=st.permutations(range(len(KEYS))).map(lambda p: p[:2]),
        market=st.sampled_from(MARKETS),
        taker_side=st.sampled_from([Side.BUY, Side.SELL]),
        modes=st.tuples(*[st.sampled_from([MarginMode.CROSS, MarginMode.ISOLATED])] * 2),
        price=st.integers(50, 200),
        size=st.integers(1, 30),
    )
    def engine_fill(
        self,
        pair: list[int],
        market: MarketId,
        taker_side: Side,
        modes: tuple[MarginMode, MarginMode],
        price: int,
        size: int,
    ) -> None:
        maker, taker = (KEYS[i] for i in pair)
        self.pm.on_engine_event(
            Filled(
                self.nonce,
                market,
                OrderId(2 * self.nonce),
                OrderId(2 * self.nonce + 1),
                taker.address,
                maker.address,
                taker_side,
                price * PRICE_UNIT,
                size * SIZE_UNIT,
                self._signed(taker, market, taker_side, modes[1]),
                self._signed(maker, market, taker_side.opposite, modes[0]),
            )
        )

    @rule(data=st.data())
    def rejected(self, data: st.DataObject) -> None:
        if matches := self.pm.pending.matches():
            match = data.draw(st.sampled_from(matches))
            self.pm.on_outcome(Rejected(match, RejectReason.MARGIN_CHECK_FAILED))

    @rule(data=st.data())
    def settled_then_folded(self, data: st.DataObject) -> None:
        if matches := self.pm.pending.matches():
            match = data.draw(st.sampled_from(matches))
            self.pm.on_outcome(Settled(match, TxHash("0x" + "00" * 32), self.block + 1))
            self._fold()

    @rule(trader=st.sampled_from(TRADERS), amount=st.integers(1, 10_000))
    def deposit(self, trader: Address, amount: int) -> None:
        self._fold(Deposited(LogPosition(self.block + 1, 0), trader, Collateral(amount)))

    @rule(market=st.sampled_from(MARKETS), maker=st.integers(0, 1_000), taker=st.integers(0, 1_000))
    def fees_changed(self, market: MarketId, maker: int, taker: int) -> None:
        self._fold(_params(market, self.block + 1, maker, taker))

    @rule(market=st.sampled_from(MARKETS), index=st.integers(-(10**9), 10**9))
    def funding_posted(self, market: MarketId, index: int) -> None:
        self._fold(FundingPosted(LogPosition(self.block + 1, 0), market, index))

    @rule(prices=st.tuples(*[st.integers(20, 400)] * len(MARKETS)))
    def prices_moved(self, prices: tuple[int, ...]) -> None:
        self.pm.set_quotes(
            {
                m: Quote(Price(p * PRICE_UNIT), True, 200, 500)
                for m, p in zip(MARKETS, prices, strict=True)
            }
        )

    @invariant()
    def cached_equals_projected_again(self) -> None:
        pm = self.pm
        for trader in TRADERS:
            chain = pm.ledger.accounts.get(trader)
            expected = Account() if chain is None else chain.copy()
            for match in pm.pending.of(trader):
                pm._apply_pending(expected, trader, match)
            assert pm.projected(trader) == expected, trader
            if trader in pm.margins:
                assert pm.margins[trader] == health.cross_health(
                    expected, pm.prices, pm.ledger.markets
                ), trader


Projections.TestCase.settings = settings(max_examples=40, stateful_step_count=30, deadline=None)
test_projections = Projections.TestCase
