"""Gas per settled fill on a real anvil, for batches of 1, 50 and 200 fills.

Three mixes, each measured after a warm-up batch so every trader already holds collateral,
a position in the market and a used nonce word (the steady state), except ``first``:
  distinct  no trader appears in two fills of the batch
  repeat    20 market makers on the resting side of every fill, distinct takers
  first     every trader's first trade ever (for information; no target)
  trigger   distinct, every taker a trigger order (a short's stop-loss the oracle reached)
Gas per fill is the receipt's gas used divided by the fills, all-in (intrinsic gas and
calldata included). A batch is split by gas (``perpdex.settlement.sizing``) when it would
not fit Ethereum's per-transaction cap; the figure then sums every transaction of it.
"""

from __future__ import annotations

import argparse
import itertools
import json
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field

from eth_account import Account
from eth_account.signers.local import LocalAccount
from web3 import Web3
from web3.contract import Contract
from web3.logs import DISCARD

from perpdex.chain.anvil import Anvil
from perpdex.chain.deploy import bind, demo_wallets, deploy
from perpdex.chain.deployment import Role
from perpdex.chain.markets import default_markets
from perpdex.chain.transact import connect, send
from perpdex.core.eip712 import (
    NO_TRIGGER_PRICE,
    ChainId,
    Eip712Domain,
    Nonce,
    Order,
    SignedOrder,
    sign_order,
)
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
from perpdex.settlement.batcher import batch_limits
from perpdex.settlement.encoding import Batch, Match
from perpdex.settlement.sizing import TRANSACTION_GAS_CAP, plan_batches

BATCH_SIZES = (1, 50, 200)
MAKERS_IN_REPEAT = 20
DAY = 86_400


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--json", action="store_true", help="print only the JSON figures")
    parser.add_argument(
        "--sizes",
        default=",".join(map(str, BATCH_SIZES)),
        help="comma-separated batch sizes (default: %(default)s)",
    )


def run(args: argparse.Namespace) -> int:
    sizes = tuple(int(size) for size in args.sizes.split(","))
    started = time.perf_counter()
    with Anvil() as anvil:
        figures = GasBench(anvil, sizes).measure()
    if not args.json:
        print(f"# gas per fill on anvil, {time.perf_counter() - started:.0f} s")
    print(json.dumps(figures))
    return 0


@dataclass
class GasBench:
    """One deployment on ``anvil`` and the traders that fill against each other on it."""

    anvil: Anvil
    sizes: tuple[int, ...]
    web3: Web3 = field(init=False)
    exchange: Contract = field(init=False)
    operator: LocalAccount = field(init=False)
    funder: LocalAccount = field(init=False)
    domain: Eip712Domain = field(init=False)
    _nonces: dict[Address, int] = field(default_factory=dict)
    _trader_ids: Iterator[int] = field(default_factory=itertools.count)

    def __post_init__(self) -> None:
        wallets = demo_wallets(self.anvil.accounts)
        deployment = deploy(self.anvil.rpc_url, wallets)
        self.web3 = connect(self.anvil.rpc_url)
        contracts = bind(self.web3, deployment)
        self.exchange = contracts.exchange
        self.operator = Account.from_key(deployment.wallet(Role.OPERATOR).private_key)
        self.funder = Account.from_key(deployment.wallet(Role.ADMIN).private_key)
        self.domain = Eip712Domain(ChainId(deployment.chain_id), Address(self.exchange.address))
        self._collateral = contracts.collateral
        self._market = default_markets()[0]

    def measure(self) -> dict[str, dict[str, int]]:
        largest = max(self.sizes)
        distinct = self.traders(2 * largest)
        makers, takers = self.traders(MAKERS_IN_REPEAT), self.traders(largest)
        first = self.traders(2 * sum(self.sizes))
        # warm-up: every steady-state trader trades once before anything is measured
        self.settle(self.distinct_matches(distinct, largest))
        self.settle(self.repeat_matches(makers, takers, largest))
        figures: dict[str, dict[str, int]] = {
            "distinct": {},
            "repeat": {},
            "first": {},
            "trigger": {},
        }
        fresh = iter(first)
        for size in self.sizes:
            figures["distinct"][str(size)] = self.settle(self.distinct_matches(distinct, size))
            figures["repeat"][str(size)] = self.settle(self.repeat_matches(makers, takers, size))
            pairs = [next(fresh) for _ in range(2 * size)]
            figures["first"][str(size)] = self.settle(self.distinct_matches(pairs, size))
            figures["trigger"][str(size)] = self.settle(
                self.distinct_matches(distinct, size, trigger_takers=True)
            )
        return figures

    # ------------------------------------------------------------------ traders and orders

    def traders(self, count: int) -> list[SigningKey]:
        """``count`` new traders, each funded with collateral in one ``deposit_for``."""
        keys = [
            SigningKey(keccak256(f"perpdex gas bench trader {next(self._trader_ids)}".encode()))
            for _ in range(count)
        ]
        amount = 1_000_000 * 10**6
        send(
            self.web3,
            self.funder,
            self._collateral.functions.faucet(self.funder.address, amount * count),
        )
        send(
            self.web3,
            self.funder,
            self._collateral.functions.approve(self.exchange.address, amount * count),
        )
        self._send_all(
            self.funder, [self.exchange.functions.deposit_for(k.address, amount) for k in keys]
        )
        return keys

    def order(
        self, key: SigningKey, *, is_buy: bool, lots: int, trigger: bool = False
    ) -> SignedOrder:
        """A plain order, or with ``trigger`` one that fires at or above the index price
        (where the oracle stands: the contract settles it)."""
        nonce = self._nonces.get(key.address, 0)
        self._nonces[key.address] = nonce + 1
        market = self._market
        order = Order(
            trader=key.address,
            market=MarketId(0),
            is_buy=is_buy,
            size=Size(lots * market.lot_size),
            limit_price=market.index_price,
            max_fee_ppm=market.taker_fee_ppm,  # type: ignore[arg-type]
            margin_mode=MarginMode.CROSS,
            time_in_force=TimeInForce.GTC,
            reduce_only=False,
            expiry=self.web3.eth.get_block("latest")["timestamp"] + DAY,  # type: ignore[arg-type]
            nonce=Nonce(nonce),
            trigger_price=market.index_price if trigger else NO_TRIGGER_PRICE,
            trigger_direction=TriggerDirection.AT_OR_ABOVE if trigger else TriggerDirection.NONE,
        )
        return sign_order(order, key, self.domain)

    def distinct_matches(
        self, traders: Sequence[SigningKey], fills: int, *, trigger_takers: bool = False
    ) -> list[Match]:
        """``fills`` fills between disjoint pairs of ``traders`` (takers with a trigger if
        ``trigger_takers``)."""
        return [
            self.fill(
                self.order(traders[2 * i], is_buy=False, lots=1),
                self.order(traders[2 * i + 1], is_buy=True, lots=1, trigger=trigger_takers),
            )
            for i in range(fills)
        ]

    def repeat_matches(
        self, makers: Sequence[SigningKey], takers: Sequence[SigningKey], fills: int
    ) -> list[Match]:
        """``fills`` fills of distinct takers against one resting order per maker."""
        used = makers[: min(len(makers), fills)]
        per_maker = [fills // len(used) + (i < fills % len(used)) for i in range(len(used))]
        asks = [
            self.order(maker, is_buy=False, lots=lots)
            for maker, lots in zip(used, per_maker, strict=True)
        ]
        resting = [ask for ask, lots in zip(asks, per_maker, strict=True) for _ in range(lots)]
        return [
            self.fill(ask, self.order(takers[i], is_buy=True, lots=1))
            for i, ask in enumerate(resting)
        ]

    def fill(self, maker: SignedOrder, taker: SignedOrder) -> Match:
        return Match(
            maker=maker,
            taker=taker,
            price=Price(self._market.index_price),
            size=Size(self._market.lot_size),
        )

    # ------------------------------------------------------------------ settlement

    def settle(self, matches: Sequence[Match]) -> int:
        """Settles ``matches`` in as few gas-capped batches as fit; returns gas per fill."""
        batches = plan_batches(
            matches,
            limits=batch_limits(self.exchange),
            estimate_gas=self._estimate,
            gas_cap=TRANSACTION_GAS_CAP,
        )
        gas = 0
        for batch in batches:
            receipt = send(
                self.web3, self.operator, self.exchange.functions.settle(*batch.calldata_args())
            )
            rejected = self.exchange.events.FillRejected().process_receipt(receipt, errors=DISCARD)
            if rejected:
                raise RuntimeError(f"bench fills were rejected: {rejected}")
            gas += receipt["gasUsed"]
        return gas // len(matches)

    def _estimate(self, batch: Batch) -> int:
        call = self.exchange.functions.settle(*batch.calldata_args())
        return int(call.estimate_gas({"from": self.operator.address}))

    def _send_all(self, signer: LocalAccount, calls: Sequence[object]) -> None:
        """Sends ``calls`` back to back with consecutive nonces, then waits for the last."""
        nonce = self.web3.eth.get_transaction_count(signer.address, "pending")
        last = None
        for offset, call in enumerate(calls):
            transaction = call.build_transaction(  # type: ignore[attr-defined]
                {"from": signer.address, "nonce": nonce + offset, "gas": 200_000}
            )
            last = self.web3.eth.send_raw_transaction(
                signer.sign_transaction(transaction).raw_transaction
            )
        if last is not None:
            self.web3.eth.wait_for_transaction_receipt(last)
