"""One cascade run on a fresh anvil: deploy, open the longs with real signed orders settled
by the operator (:func:`crowd`), switch to one-second blocks, push the crash with the
keeper's oracle pusher and let the real keeper liquidator step the accounts; then read the
events (:func:`outcome`). ``perpdex.sim.cascade.rounds`` runs the crash with feedback on
the same crowd instead.

Trader keys are derived from the seed, so both policies see the same book.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass

from eth_account.signers.local import LocalAccount
from web3 import Web3
from web3.types import EventData

from perpdex.chain.anvil import Anvil
from perpdex.chain.deploy import ChainContracts, bind, credit, demo_wallets, deploy
from perpdex.chain.deployment import Deployment, ListedMarket, Role
from perpdex.chain.param_changes import apply_after_delay
from perpdex.chain.transact import send
from perpdex.core.eip712 import (
    ChainId,
    Eip712Domain,
    FeePpm,
    Nonce,
    Order,
    SignedOrder,
    UnixTime,
    sign_order,
)
from perpdex.core.signing import SigningKey, keccak256
from perpdex.core.types import MarginMode, MarketId, Price, Size, TimeInForce
from perpdex.core.units import to_collateral_units
from perpdex.keeper.runner import Keeper, KeeperConfig
from perpdex.settlement.batcher import Batcher
from perpdex.settlement.encoding import Match
from perpdex.settlement.outcomes import Settled
from perpdex.sim.cascade.metrics import AccountEnd, Forced, PricePush, Run
from perpdex.sim.cascade.scenario import TraderSpec

MARKET = "BTC-PERP"
DAY = 86_400
INSURANCE_USDC = 20_000
"""Seeded into the insurance fund before the crash (the demo deployment starts at 0)."""
KEEPER_USDC = 10_000_000
"""The liquidator's margin: it takes every liquidated position into its own account."""


@dataclass(frozen=True, slots=True)
class Policy:
    name: str
    full_close: bool


@dataclass
class Setup:
    """A fresh deployment and its admin, for a scenario's funding and orders."""

    web3: Web3
    deployment: Deployment
    contracts: ChainContracts
    admin: LocalAccount
    market: ListedMarket
    domain: Eip712Domain

    @classmethod
    def of(cls, rpc_url: str, deployment: Deployment, market: str) -> Setup:
        web3 = Web3(Web3.HTTPProvider(rpc_url))
        return cls(
            web3=web3,
            deployment=deployment,
            contracts=bind(web3, deployment),
            admin=deployment.wallet(Role.ADMIN).account(),
            market=deployment.market(market),
            domain=Eip712Domain(ChainId(deployment.chain_id), deployment.contracts.exchange),
        )

    def deposit(self, to: Sequence[tuple[str, int]]) -> None:
        credit(self.web3, self.contracts, self.admin, to)

    def fund_insurance(self, amount: int) -> None:
        collateral, exchange = self.contracts.collateral, self.contracts.exchange
        send(self.web3, self.admin, collateral.functions.faucet(self.admin.address, amount))
        send(self.web3, self.admin, collateral.functions.approve(exchange.address, amount))
        send(self.web3, self.admin, exchange.functions.fund_insurance(amount))

    def position_size(self, address: str) -> int:
        """``address``'s signed position in the market, in size units."""
        size, *_ = self.contracts.exchange.functions.position(address, self.market.id).call()
        return int(size)

    def events(self, name: str) -> list[EventData]:
        """Every ``name`` event of the Exchange since the deployment."""
        event = getattr(self.contracts.exchange.events, name)()
        return list(event.get_logs(from_block=self.deployment.start_block))

    def full_close(self) -> None:
        """Every position under the largest minimum partial notional the contract allows
        (1,000,000 USDC, above any position of the scenario) is closed whole. The change
        waits out the parameter delay, as any change of a listed market."""
        markets = self.contracts.markets
        fraction, penalty, share, _ = markets.functions.liquidation(self.market.id).call()
        whole_below = markets.functions.MAX_MIN_PARTIAL_NOTIONAL().call()
        call = markets.functions.set_liquidation_params(
            self.market.id, fraction, penalty, share, whole_below
        )
        send(self.web3, self.admin, call)
        apply_after_delay(
            self.web3,
            self.admin,
            markets,
            self.market.id,
            feeds=self.contracts.oracles.values(),
            feed_owner=self.deployment.wallet(Role.KEEPER).account(),
        )

    def order(self, key: SigningKey, is_buy: bool, size: Size, nonce: int) -> SignedOrder:
        price, _ = self.contracts.markets.functions.price(self.market.id).call()
        order = Order(
            trader=key.address,
            market=self.market.id,
            is_buy=is_buy,
            size=size,
            limit_price=Price(price),
            max_fee_ppm=FeePpm(self.market.taker_fee_ppm),
            margin_mode=MarginMode.CROSS,
            time_in_force=TimeInForce.GTC,
            reduce_only=False,
            expiry=UnixTime(self.web3.eth.get_block("latest")["timestamp"] + DAY),
            nonce=Nonce(nonce),
        )
        return sign_order(order, key, self.domain)

    def open_longs(self, maker: SigningKey, longs: Sequence[tuple[SigningKey, Size]]) -> None:
        """Each long takes the maker's resting sell at the index price, settled on chain."""
        nonces = itertools.count()
        price, _ = self.contracts.markets.functions.price(self.market.id).call()
        matches = [
            Match(
                maker=self.order(maker, False, size, next(nonces)),
                taker=self.order(key, True, size, next(nonces)),
                price=Price(price),
                size=size,
            )
            for key, size in longs
        ]
        operator = self.deployment.wallet(Role.OPERATOR).account()
        batcher = Batcher(
            self.web3, self.contracts.exchange, operator, from_block=self.deployment.start_block
        )
        outcomes = batcher.settle(matches).outcomes
        if not all(isinstance(outcome, Settled) for outcome in outcomes):
            raise RuntimeError(f"opening the longs failed: {outcomes}")


def trader_key(seed: int, index: int, scenario: str = "cascade") -> SigningKey:
    """A scenario's ``index``-th trader key for ``seed``: the same traders every run."""
    return SigningKey(keccak256(f"perpdex sim {scenario} {seed} {index}".encode()))


@dataclass(frozen=True, slots=True)
class Crowd:
    """The longs opened on a fresh anvil, before the crash: the chain, the deployment, the
    keeper's key and each trader's label by address."""

    anvil: Anvil
    setup: Setup
    keeper_account: LocalAccount
    labels: dict[str, str]

    def keeper(self) -> Keeper:
        """The real keeper's oracle pusher and liquidator (``hold``: it keeps what it
        takes over)."""
        config = KeeperConfig(tasks=frozenset({"oracle"}))
        return Keeper(self.setup.deployment, self.keeper_account, config)


@contextmanager
def crowd(policy: Policy, specs: Sequence[TraderSpec], seed: int) -> Iterator[Crowd]:
    """A fresh anvil and deployment under ``policy`` with ``specs``' longs opened (stopped
    on exit)."""
    with Anvil() as anvil:
        deployment = deploy(anvil.rpc_url, demo_wallets(anvil.accounts))
        setup = Setup.of(anvil.rpc_url, deployment, MARKET)
        if policy.full_close:
            setup.full_close()
        keys = [trader_key(seed, i) for i in range(len(specs))]
        maker = trader_key(seed, -1)
        # the maker's short needs its initial margin: 10% of the whole book is ample
        short_margin = sum(s.collateral * s.leverage for s in specs) // 10
        keeper = deployment.wallet(Role.KEEPER).account()
        setup.deposit(
            [(maker.address, short_margin), (keeper.address, to_collateral_units(KEEPER_USDC))]
            + [(key.address, spec.collateral) for key, spec in zip(keys, specs, strict=True)]
        )
        setup.fund_insurance(to_collateral_units(INSURANCE_USDC))
        setup.open_longs(maker, [(k, s.size) for k, s in zip(keys, specs, strict=True)])
        labels: dict[str, str] = {
            k.address: f"{i:02d}-{s.leverage}x"
            for i, (k, s) in enumerate(zip(keys, specs, strict=True))
        }
        yield Crowd(anvil, setup, keeper, labels)


def run_policy(
    policy: Policy, specs: Sequence[TraderSpec], path: Sequence[Price], seed: int
) -> Run:
    with crowd(policy, specs, seed) as opened:
        return _crash(opened, path)


def _crash(opened: Crowd, path: Sequence[Price]) -> Run:
    keeper = opened.keeper()
    market = MarketId(opened.setup.market.id)
    # one-second blocks, as on a real chain: steps sent together share a block, so latency
    # in blocks is not inflated by the keeper's own transactions
    opened.anvil.set_block_time(1)
    pushes = []
    for price in path:
        pushed = keeper.pusher.push(market, price)
        pushes.append(PricePush(pushed.step.block, price))
        keeper.liquidator.tick()
    opened.anvil.set_block_time(None)
    latencies = [
        (opened.labels[sample.target.trader], sample.blocks)
        for sample in keeper.liquidator.latencies
    ]
    return outcome(opened, pushes, latencies)


def outcome(
    opened: Crowd, pushes: Sequence[PricePush], latencies: Sequence[tuple[str, int]]
) -> Run:
    """The run's figures from the chain's events and the accounts' final state."""
    setup, labels = opened.setup, opened.labels
    return Run(
        prices=pushes,
        forced=_forced(setup, labels),
        insurance_draws=[int(e["args"]["amount"]) for e in setup.events("InsuranceDrawn")],
        latencies=latencies,
        accounts=[_account(setup, address, label) for address, label in labels.items()],
    )


def _forced(setup: Setup, labels: dict[str, str]) -> list[Forced]:
    forced = [
        Forced(
            trader=labels[e["args"]["trader"]],
            block=int(e["blockNumber"]),
            size=abs(int(e["args"]["size"])),
            price=Price(int(e["args"]["price"])),
            full=bool(e["args"]["full"]),
        )
        for e in setup.events("Liquidated")
    ]
    forced += [
        Forced(
            trader=labels[e["args"]["trader"]],
            block=int(e["blockNumber"]),
            size=abs(int(e["args"]["size"])),
            price=Price(int(e["args"]["price"])),
            full=True,
            deleveraged=True,
        )
        for e in setup.events("Deleveraged")
    ]
    return forced


def _account(setup: Setup, address: str, label: str) -> AccountEnd:
    equity, _, maintenance = setup.contracts.exchange.functions.cross_health(address).call()
    return AccountEnd(label, setup.position_size(address) != 0, int(equity), int(maintenance))
