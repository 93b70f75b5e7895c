"""A deployed Exchange for titanoboa tests, and the actors that use it.

The contracts are compiled once at import and deployed once per module; every test runs
inside its own ``boa.env.anchor()``, so state never leaks between tests. Actors are named
by role and sign with real secp256k1 keys derived from their role.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boa
from boa.contracts.event_decoder import RawLogEntry, decode_log
from boa.contracts.vyper.vyper_contract import VyperContract, VyperDeployer

from perpdex.chain.markets import MarketSpec, default_markets
from perpdex.core.eip712 import ChainId, Eip712Domain, Nonce, Order, SignedOrder, sign_order
from perpdex.core.signing import SigningKey, keccak256
from perpdex.core.types import (
    Address,
    MarginMode,
    MarketId,
    Price,
    Size,
    TimeInForce,
    TriggerDirection,
)
from perpdex.settlement.encoding import Batch, BatchLimits, Match

CONTRACTS = Path(__file__).resolve().parents[3] / "contracts"

EXCHANGE: VyperDeployer = boa.load_partial(str(CONTRACTS / "Exchange.vy"))
MARKETS: VyperDeployer = boa.load_partial(str(CONTRACTS / "Markets.vy"))
LIQUIDATIONS: VyperDeployer = boa.load_partial(str(CONTRACTS / "Liquidations.vy"))
CHECKPOINTS: VyperDeployer = boa.load_partial(str(CONTRACTS / "Checkpoints.vy"))
MOCK_USDC: VyperDeployer = boa.load_partial(str(CONTRACTS / "mocks" / "MockUSDC.vy"))
MOCK_AGGREGATOR: VyperDeployer = boa.load_partial(str(CONTRACTS / "mocks" / "MockAggregator.vy"))

BTC, ETH = default_markets()
USDC = 10**6  # one whole USDC in collateral units (6 decimals, the mock's own)
HOUR = 3_600


@dataclass(frozen=True)
class Actor:
    """A role with a signing key; ``address`` is what boa pranks as."""

    key: SigningKey

    @property
    def address(self) -> Address:
        return self.key.address


def actor(role: str) -> Actor:
    return Actor(SigningKey(keccak256(f"perpdex test actor {role}".encode())))


@dataclass
class Venue:
    """A deployed Exchange with its collateral token, one oracle per market and the
    Checkpoints contract the keeper posts to (and signs receipts for)."""

    exchange: VyperContract
    markets: VyperContract
    liquidations: VyperContract
    checkpoints: VyperContract
    usdc: VyperContract
    oracles: dict[MarketId, VyperContract]
    admin: Actor
    operator: Actor
    keeper: Actor
    domain: Eip712Domain
    nonces: dict[Address, int]

    def fund(self, who: Actor, amount: int) -> list[Any]:
        """Faucet ``amount`` collateral units to ``who`` and deposit them; returns the events."""
        self.usdc.faucet(who.address, amount)
        with boa.env.prank(who.address):
            self.usdc.approve(self.exchange.address, amount)
            self.exchange.deposit(amount)
        return list(self.exchange.get_logs())

    def set_price(self, market: MarketId, price: Price) -> None:
        spec = default_markets()[market]
        with boa.env.prank(self.admin.address):
            self.oracles[market].set_answer(price * 10 ** (spec.oracle_decimals - 6))

    def refresh_prices(self) -> None:
        """Every feed's heartbeat: its latest answer again, stamped now."""
        with boa.env.prank(self.admin.address):
            for oracle in self.oracles.values():
                oracle.set_answer(oracle.latestRoundData()[1])

    def apply_params(self, market: int = 0) -> list[Any]:
        """Waits until the queued parameter change of ``market`` is due (the feeds keep
        beating) and applies it, as anyone may; returns the Markets events."""
        boa.env.time_travel(
            seconds=max(self.markets.pending_at(market) - boa.env.evm.patch.timestamp, 0)
        )
        self.refresh_prices()
        self.markets.apply_params(market)
        return list(self.markets.get_logs())

    def order(
        self,
        who: Actor,
        *,
        is_buy: bool,
        size: int,
        price: int,
        market: int = 0,
        margin_mode: MarginMode = MarginMode.CROSS,
        time_in_force: TimeInForce = TimeInForce.GTC,
        reduce_only: bool = False,
        max_fee_ppm: int = 1_000,
        expiry: int | None = None,
        nonce: int | None = None,
        trigger_price: int = 0,
        trigger_direction: TriggerDirection = TriggerDirection.NONE,
    ) -> SignedOrder:
        """A real signed order; nonces count up per trader unless given."""
        if nonce is None:
            nonce = self.nonces.get(who.address, 0)
            self.nonces[who.address] = nonce + 1
        order = Order(
            trader=who.address,
            market=MarketId(market),
            is_buy=is_buy,
            size=Size(size),
            limit_price=Price(price),
            max_fee_ppm=max_fee_ppm,  # type: ignore[arg-type]
            margin_mode=margin_mode,
            time_in_force=time_in_force,
            reduce_only=reduce_only,
            expiry=expiry if expiry is not None else boa.env.evm.patch.timestamp + HOUR,  # type: ignore[arg-type]
            nonce=Nonce(nonce),
            trigger_price=Price(trigger_price),
            trigger_direction=trigger_direction,
        )
        return sign_order(order, who.key, self.domain)

    def open_long(self, trader: Actor, counterparty: Actor, size: int, **terms: Any) -> list[Any]:
        """``trader`` buys ``size`` of BTC-PERP at the index price from ``counterparty``'s
        resting sell; ``terms`` go to the trader's order (e.g. ``margin_mode``)."""
        price = default_markets()[0].index_price
        ask = self.order(counterparty, is_buy=False, size=size, price=price)
        bid = self.order(trader, is_buy=True, size=size, price=price, **terms)
        return self.settle(match(ask, bid))

    def settle(self, *matches: Match) -> list[Any]:
        """Settles ``matches`` as one batch; returns the events the call emitted."""
        batch = Batch(self.batch_limits())
        for match in matches:
            batch.add(match)
        return self.settle_packed(*batch.calldata_args())

    def batch_limits(self) -> BatchLimits:
        """The Exchange's bounds on one ``settle`` call."""
        return BatchLimits(
            self.exchange.MAX_ORDERS(), self.exchange.MAX_FILLS(), self.exchange.MAX_TRIGGERS()
        )

    def settle_packed(
        self,
        orders: list[tuple[int, int, int, int]],
        fills: list[int],
        triggers: list[int] | None = None,
    ) -> list[Any]:
        """Settles the packed arguments as given (``triggers``: none by default)."""
        with boa.env.prank(self.operator.address):
            self.exchange.settle(orders, fills, triggers or [])
        return self.logs()

    def logs(self) -> list[Any]:
        """The decoded events of the last Exchange call, with those its Liquidations
        extension emitted from the Exchange's address (not in the Exchange's own ABI)."""
        return [
            decode_log(self.exchange.address, self.liquidations.event_abi_for, log)
            if isinstance(log, RawLogEntry)
            else log
            for log in self.exchange.get_logs(strict=False)
        ]

    def liquidate(self, liquidator: Actor, trader: Actor, market: int = 0) -> list[Any]:
        """One liquidation step of ``trader``'s position by ``liquidator``; its events."""
        with boa.env.prank(liquidator.address):
            self.exchange.liquidate(trader.address, market)
        return self.logs()

    def deleverage(
        self, caller: Actor, trader: Actor, counterparty: Actor, market: int = 0
    ) -> list[Any]:
        with boa.env.prank(caller.address):
            self.exchange.deleverage(trader.address, market, counterparty.address)
        return self.logs()

    def position(self, who: Actor, market: int = 0) -> tuple[int, int, bool, int]:
        return tuple(self.exchange.position(who.address, market))  # type: ignore[return-value]

    def collateral(self, who: Actor) -> int:
        return int(self.exchange.account(who.address)[0])


def match(
    maker: SignedOrder, taker: SignedOrder, price: int | None = None, size: int | None = None
) -> Match:
    """A fill of ``taker`` against ``maker`` at the maker's price and full size by default."""
    return Match(
        maker=maker,
        taker=taker,
        price=Price(price if price is not None else maker.order.limit_price),
        size=Size(size if size is not None else min(maker.order.size, taker.order.size)),
    )


def listing_args(spec: MarketSpec, oracle: VyperContract) -> dict[str, Any]:
    """The keyword arguments of ``Markets.list_market`` for ``spec``."""
    return {
        "symbol": spec.symbol,
        "oracle": oracle.address,
        "tick_size": spec.tick_size,
        "lot_size": spec.lot_size,
        "max_leverage": spec.max_leverage,
        "initial_margin_ppm": spec.initial_margin_ppm,
        "maintenance_margin_ppm": spec.maintenance_margin_ppm,
        "maker_fee_ppm": spec.maker_fee_ppm,
        "taker_fee_ppm": spec.taker_fee_ppm,
    }


def list_market(markets: VyperContract, oracle: VyperContract, spec: MarketSpec) -> int:
    return int(markets.list_market(*listing_args(spec, oracle).values()))


def deploy_venue() -> Venue:
    """USDC, one oracle per default market, a Markets registry listing them, the
    keeper's Checkpoints, and an Exchange (with its Liquidations extension) on that
    registry."""
    admin, operator, keeper = actor("admin"), actor("operator"), actor("keeper")
    with boa.env.prank(admin.address):
        usdc = MOCK_USDC.deploy()
        markets = MARKETS.deploy(keeper.address)
        liquidations = LIQUIDATIONS.deploy(markets.address)
        checkpoints = CHECKPOINTS.deploy(keeper.address)
        exchange = EXCHANGE.deploy(
            usdc.address,
            markets.address,
            liquidations.address,
            checkpoints.address,
            operator.address,
        )
        oracles = {}
        for spec in default_markets():
            oracle = MOCK_AGGREGATOR.deploy(
                spec.oracle_decimals, spec.oracle_description, spec.oracle_answer
            )
            oracles[MarketId(list_market(markets, oracle, spec))] = oracle
    domain = Eip712Domain(ChainId(boa.env.evm.patch.chain_id), Address(exchange.address))
    return Venue(
        exchange,
        markets,
        liquidations,
        checkpoints,
        usdc,
        oracles,
        admin,
        operator,
        keeper,
        domain,
        {},
    )


def events(logs: list[Any], name: str) -> list[Any]:
    """The decoded events called ``name`` among ``logs``."""
    return [log for log in logs if type(log).__name__ == name]


def rejection_reasons(logs: list[Any]) -> list[int]:
    """The ``reason`` of each ``FillRejected`` event among ``logs``, in fill order."""
    return [log.reason for log in events(logs, "FillRejected")]
