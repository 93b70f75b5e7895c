"""The settlement batcher against a real anvil: real signatures, real contract, no mocks."""

from __future__ import annotations

import argparse
import asyncio
import itertools
import re
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, cast

import pytest
from eth_account import Account
from eth_account.signers.local import LocalAccount
from eth_account.types import TransactionDictType
from hexbytes import HexBytes
from web3 import Web3
from web3.types import Wei

from perpdex.chain.anvil import Anvil
from perpdex.chain.deploy import ChainContracts, bind, demo_wallets, deploy
from perpdex.chain.deployment import Deployment, ListedMarket, Role, load_deployment
from perpdex.chain.transact import send
from perpdex.cli import demo
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
from perpdex.core.signing import Signature, SigningKey, keccak256
from perpdex.core.types import (
    Address,
    MarginMode,
    OrderId,
    Price,
    Size,
    TimeInForce,
    TriggerDirection,
)
from perpdex.engine.events import Filled
from perpdex.settlement.batcher import MAX_REVERTS, Batcher
from perpdex.settlement.encoding import Batch, Match
from perpdex.settlement.outcomes import (
    FillOutcome,
    Rejected,
    RejectReason,
    Settled,
    SettlementReport,
    fill_key,
)
from perpdex.settlement.payload import order_payload
from perpdex.settlement.runner import ISOLATE_AFTER_ROUNDS, SettledCursor, SettlementRunner
from perpdex.settlement.sizing import TRANSACTION_GAS_CAP

DAY = 86_400
TOP_NONCE = 2**64 - 1
OFF_CURVE_R = 5
"""No secp256k1 point has x = 5 (5**3 + 7 is not a square mod p), so ``ecrecover`` fails."""
_keys = itertools.count()


@dataclass
class Chain:
    """One deployment on the session anvil, and helpers to make traders and fills on it."""

    web3: Web3
    deployment: Deployment
    contracts: ChainContracts
    operator: LocalAccount
    admin: LocalAccount
    domain: Eip712Domain
    market: ListedMarket

    def batcher(
        self, *, gas_cap: int = TRANSACTION_GAS_CAP, receipt_timeout: float = 30.0
    ) -> Batcher:
        return Batcher(
            self.web3,
            self.contracts.exchange,
            self.operator,
            gas_cap=gas_cap,
            receipt_timeout=receipt_timeout,
            from_block=self.deployment.start_block,
        )

    def rpc(self, method: str, *params: object) -> object:
        return self.web3.provider.make_request(method, list(params)).get("result")  # type: ignore[arg-type]

    def await_pending(self, count: int) -> None:
        """Wait until the node's pool holds ``count`` transactions."""
        deadline = time.monotonic() + 10
        while len(self.web3.eth.get_block("pending")["transactions"]) != count:
            assert time.monotonic() < deadline, f"the pool never held {count} transactions"
            time.sleep(0.02)

    def traders(self, count: int, usdc: int = 100_000) -> list[SigningKey]:
        """``count`` new traders, each with ``usdc`` collateral deposited for it."""
        keys = [SigningKey(keccak256(f"batcher test {next(_keys)}".encode())) for _ in range(count)]
        amount = usdc * 10**6 * count
        collateral, exchange = self.contracts.collateral, self.contracts.exchange
        send(self.web3, self.admin, collateral.functions.faucet(self.admin.address, amount))
        send(self.web3, self.admin, collateral.functions.approve(exchange.address, amount))
        for key in keys:
            send(self.web3, self.admin, exchange.functions.deposit_for(key.address, usdc * 10**6))
        return keys

    def order(
        self,
        key: SigningKey,
        *,
        is_buy: bool,
        lots: int,
        limit: Price | None = None,
        nonce: int | None = None,
    ) -> SignedOrder:
        order = Order(
            trader=key.address,
            market=self.market.id,
            is_buy=is_buy,
            size=Size(lots * self.market.lot_size),
            limit_price=limit or self.market.index_price,
            max_fee_ppm=FeePpm(self.market.taker_fee_ppm),
            margin_mode=MarginMode.CROSS,
            time_in_force=TimeInForce.GTC,
            reduce_only=False,
            expiry=UnixTime(self.web3.eth.get_block("latest")["timestamp"] + DAY),
            nonce=Nonce(next(_keys) if nonce is None else nonce),
        )
        return sign_order(order, key, self.domain)

    def fill(
        self,
        seller: SigningKey,
        buyer: SigningKey,
        *,
        lots: int = 1,
        price: Price | None = None,
        buyer_nonce: int | None = None,
    ) -> Match:
        """The buyer's order crossing the seller's resting one, at ``price`` (default the
        index price, which both limits allow)."""
        return Match(
            maker=self.order(seller, is_buy=False, lots=lots),
            taker=self.order(buyer, is_buy=True, lots=lots, nonce=buyer_nonce),
            price=price or self.market.index_price,
            size=Size(lots * self.market.lot_size),
        )

    def raise_nonce_floor(self, key: SigningKey, floor: int) -> HexBytes:
        """``key``'s own ``raise_nonce_floor`` transaction (it is given gas money), sent with a
        high tip so that it is mined ahead of a pending ``settle``."""
        self.rpc("anvil_setBalance", key.address, hex(10**18))
        account = Account.from_key(key.secret)
        call = self.contracts.exchange.functions.raise_nonce_floor(floor)
        transaction = call.build_transaction(
            {
                "from": account.address,
                "nonce": self.web3.eth.get_transaction_count(account.address, "pending"),
                "maxPriorityFeePerGas": Wei(10**11),
                "maxFeePerGas": Wei(10**12),
            }
        )
        signed = account.sign_transaction(cast("TransactionDictType", transaction))
        return self.web3.eth.send_raw_transaction(signed.raw_transaction)

    def position(self, trader: Address) -> int:
        size, *_ = self.contracts.exchange.functions.position(trader, self.market.id).call()
        return int(size)


@pytest.fixture(scope="module")
def chain(anvil: Anvil) -> Iterator[Chain]:
    deployment = deploy(anvil.rpc_url, demo_wallets(anvil.accounts))
    web3 = Web3(Web3.HTTPProvider(anvil.rpc_url))
    contracts = bind(web3, deployment)
    yield Chain(
        web3=web3,
        deployment=deployment,
        contracts=contracts,
        operator=deployment.wallet(Role.OPERATOR).account(),
        admin=deployment.wallet(Role.ADMIN).account(),
        domain=Eip712Domain(ChainId(deployment.chain_id), deployment.contracts.exchange),
        market=deployment.markets[0],
    )


def test_two_demo_wallets_trade_and_positions_appear_on_chain(chain: Chain) -> None:
    maker, trader = (
        SigningKey(bytes(chain.deployment.wallet(role).account().key))
        for role in (Role.MAKER, Role.TRADER)
    )
    fills = [chain.fill(maker, trader, lots=3), chain.fill(maker, trader, lots=2)]

    report = chain.batcher().settle(fills)

    assert [type(o) for o in report.outcomes] == [Settled, Settled]
    (transaction,) = report.transactions
    assert transaction.settled == 2 and transaction.attempts == 1
    assert report.settled[0].tx_hash == transaction.tx_hash
    lot = chain.market.lot_size
    assert chain.position(trader.address) == 5 * lot
    assert chain.position(maker.address) == -5 * lot


def test_an_invalid_fill_is_reported_and_the_others_settle(chain: Chain) -> None:
    a, b, c, d, e, f = chain.traders(6)
    above_limit = Price(chain.market.index_price + chain.market.tick_size)
    fills = [chain.fill(a, b), chain.fill(c, d, price=above_limit), chain.fill(e, f)]

    report = chain.batcher().settle(fills)

    first, bad, last = report.outcomes
    assert isinstance(first, Settled) and isinstance(last, Settled)
    assert isinstance(bad, Rejected) and bad.reason is RejectReason.PRICE_LIMIT
    assert bad.tx_hash == first.tx_hash  # the contract skipped it in the same transaction
    assert chain.position(d.address) == 0 and chain.position(f.address) > 0


def test_a_stop_the_oracle_has_not_reached_is_reported_and_the_others_settle(
    chain: Chain,
) -> None:
    """A short's stop-loss (a buy at or above its trigger) with the oracle at the index
    price: one tick above it waits (``TRIGGER_NOT_REACHED``, in the same transaction), at
    it fires."""
    a, b, c, d = chain.traders(4)

    def stop(seller: SigningKey, buyer: SigningKey, trigger: int) -> Match:
        fill = chain.fill(seller, buyer)
        order = replace(
            fill.taker.order,
            trigger_price=Price(trigger),
            trigger_direction=TriggerDirection.AT_OR_ABOVE,
        )
        return replace(fill, taker=sign_order(order, buyer, chain.domain))

    index = chain.market.index_price
    early = stop(a, b, index + chain.market.tick_size)
    due = stop(c, d, index)

    report = chain.batcher().settle([early, due])

    waiting, fired = report.outcomes
    assert isinstance(waiting, Rejected) and waiting.reason is RejectReason.TRIGGER_NOT_REACHED
    assert isinstance(fired, Settled) and waiting.tx_hash == fired.tx_hash
    assert chain.position(b.address) == 0 and chain.position(d.address) > 0


def test_a_trader_without_margin_is_dropped_and_the_others_settle(chain: Chain) -> None:
    a, b, c, d = chain.traders(4)
    (poor,) = chain.traders(1, usdc=1)
    fills = [chain.fill(a, b), chain.fill(c, poor, lots=100), chain.fill(d, b)]

    report = chain.batcher().settle(fills)

    first, dropped, last = report.outcomes
    assert isinstance(first, Settled) and isinstance(last, Settled)
    assert isinstance(dropped, Rejected)
    assert dropped.reason is RejectReason.MARGIN_CHECK_FAILED and dropped.account == poor.address
    assert chain.position(poor.address) == 0 and chain.position(c.address) == 0
    assert chain.position(b.address) == 2 * chain.market.lot_size


def test_a_batch_over_the_gas_cap_is_split_and_every_fill_settles(chain: Chain) -> None:
    traders = chain.traders(40)
    fills = [chain.fill(traders[2 * i], traders[2 * i + 1]) for i in range(20)]

    # first fills cost ~90k gas each: 20 of them do not fit 1M gas
    report = chain.batcher(gas_cap=1_000_000).settle(fills)

    assert all(isinstance(o, Settled) for o in report.outcomes)
    assert len(report.transactions) >= 2
    assert all(t.gas_used <= 1_000_000 for t in report.transactions)
    assert sum(t.settled for t in report.transactions) == 20
    assert [t.nonce for t in report.transactions] == sorted({t.nonce for t in report.transactions})
    assert all(chain.position(t.address) != 0 for t in traders)


def test_a_restarted_batcher_does_not_settle_a_fill_twice(chain: Chain) -> None:
    a, b, c, d = chain.traders(4)
    fills = [chain.fill(a, b, lots=2), chain.fill(c, d)]
    first = chain.batcher().settle(fills)

    again = chain.batcher().settle([*fills, chain.fill(a, d)])

    for before, after in zip(first.outcomes, again.outcomes[:2], strict=True):
        assert isinstance(before, Settled) and isinstance(after, Settled)
        assert after.earlier and (after.tx_hash, after.block) == (before.tx_hash, before.block)
    assert isinstance(again.outcomes[2], Settled) and not again.outcomes[2].earlier
    lot = chain.market.lot_size
    assert chain.position(b.address) == 2 * lot and chain.position(d.address) == 2 * lot


def test_demo_trades_through_the_engine_and_settles_on_chain(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    parser = argparse.ArgumentParser()
    demo.add_arguments(parser)
    out = tmp_path / "local.json"

    assert demo.run(parser.parse_args(["--once", "--out", str(out)])) == 0

    printed = capsys.readouterr().out
    assert load_deployment(out).wallet(Role.TRADER).address in printed
    settled = re.findall(r"^\d+\s+settled\s+0x", printed, re.MULTILINE)
    assert len(settled) == 3  # the maker's three asks, crossed by one buy
    assert "0.12 BTC" in printed and "-0.12 BTC" in printed


def test_a_dropped_transaction_is_replaced_under_its_nonce_and_settles_once(chain: Chain) -> None:
    a, b = chain.traders(2)
    fills = [chain.fill(a, b)]
    reports: list[SettlementReport] = []
    batcher = chain.batcher(receipt_timeout=0.5)
    chain.rpc("evm_setAutomine", False)
    try:
        worker = threading.Thread(target=lambda: reports.append(batcher.settle(fills)))
        worker.start()
        chain.await_pending(1)
        chain.rpc("anvil_dropAllTransactions")  # lost: never mined
        chain.await_pending(1)  # its replacement, after the receipt timeout
        chain.rpc("evm_mine")
        worker.join(timeout=30)
    finally:
        chain.rpc("evm_setAutomine", True)

    (report,) = reports
    (outcome,) = report.outcomes
    (transaction,) = report.transactions
    assert isinstance(outcome, Settled) and outcome.tx_hash == transaction.tx_hash
    assert transaction.attempts == 2
    assert chain.position(b.address) == chain.market.lot_size


def off_curve(signed: SignedOrder) -> SignedOrder:
    """``signed`` with an ``r`` that passes every range check but is not on the curve."""
    signature = Signature(v=signed.signature.v, r=OFF_CURVE_R, s=signed.signature.s)
    return replace(signed, signature=signature)


def test_a_fill_at_the_last_nonce_settles_with_the_others(chain: Chain) -> None:
    # a whole fill of nonce 2**64 - 1 at that floor once overflowed the floor: a plain
    # revert of the whole batch; the contract now fills it through the order map
    a, b, c, d, e, f = chain.traders(6)
    chain.web3.eth.wait_for_transaction_receipt(chain.raise_nonce_floor(d, TOP_NONCE))
    fills = [chain.fill(a, b), chain.fill(c, d, buyer_nonce=TOP_NONCE), chain.fill(e, f)]

    report = chain.batcher().settle(fills)

    assert all(isinstance(outcome, Settled) for outcome in report.outcomes)
    assert all(chain.position(buyer.address) > 0 for buyer in (b, d, f))


def test_fills_that_revert_in_signature_recovery_cannot_stop_settlement(chain: Chain) -> None:
    traders = chain.traders(12)
    fills = [chain.fill(traders[2 * i], traders[2 * i + 1]) for i in range(6)]
    culprits = {0, 3, 5}  # first, middle and last: each bisection must find its own
    for i in culprits:
        fills[i] = replace(fills[i], taker=off_curve(fills[i].taker))

    report = chain.batcher().settle(fills)

    for i, outcome in enumerate(report.outcomes):
        buyer = traders[2 * i + 1]
        if i in culprits:
            # once a revert the batcher bisected for; the contract now skips it itself
            assert isinstance(outcome, Rejected) and outcome.reason is RejectReason.BAD_SIGNATURE
            assert chain.position(buyer.address) == 0
        else:
            assert isinstance(outcome, Settled)
            assert chain.position(buyer.address) == chain.market.lot_size
    assert sum(t.settled for t in report.transactions) == 3


def test_a_fill_closed_between_simulation_and_mining_cannot_stop_settlement(
    chain: Chain,
) -> None:
    # the simulation passes; before the batch is mined the buyer raises its nonce floor past
    # its order's nonce, so the mined batch skips that fill and settles the others
    a, b, c, d, e, f = chain.traders(6)
    fills = [chain.fill(a, b), chain.fill(c, d, buyer_nonce=TOP_NONCE - 1), chain.fill(e, f)]
    reports: list[SettlementReport] = []
    batcher = chain.batcher()
    chain.rpc("evm_setAutomine", False)
    try:
        worker = threading.Thread(target=lambda: reports.append(batcher.settle(fills)))
        worker.start()
        chain.await_pending(1)
        chain.raise_nonce_floor(d, TOP_NONCE)
        chain.await_pending(2)
        chain.rpc("evm_setAutomine", True)
        chain.rpc("evm_mine")
        worker.join(timeout=30)
    finally:
        chain.rpc("evm_setAutomine", True)

    (report,) = reports
    first, bad, last = report.outcomes
    assert isinstance(first, Settled) and isinstance(last, Settled)
    assert isinstance(bad, Rejected)
    assert chain.position(d.address) == 0
    assert chain.position(b.address) > 0 and chain.position(f.address) > 0


class HeavyFillBatcher(Batcher):
    """Injects a fault the chain cannot be made to show on demand: the gas estimate of any
    batch holding ``heavy`` is a third too low, as if its state changed before mining."""

    def __init__(self, heavy: Match, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._heavy = heavy

    def _gas_limit(self, batch: Batch, estimate: int) -> int:
        limit = super()._gas_limit(batch, estimate)
        return limit * 2 // 3 if self._heavy in batch.matches else limit


def test_a_fill_that_runs_out_of_gas_when_mined_cannot_stop_settlement(chain: Chain) -> None:
    traders = chain.traders(8)
    fills = [chain.fill(traders[2 * i], traders[2 * i + 1]) for i in range(4)]
    batcher = HeavyFillBatcher(
        fills[2],
        chain.web3,
        chain.contracts.exchange,
        chain.operator,
        from_block=chain.deployment.start_block,
    )

    report = batcher.settle(fills)

    *settled, heavy, last = report.outcomes
    assert all(isinstance(o, Settled) for o in (*settled, last))
    assert isinstance(heavy, Rejected) and heavy.reason is RejectReason.REVERTED
    assert chain.position(traders[5].address) == 0
    assert chain.position(traders[7].address) == chain.market.lot_size
    reverted = [t for t in report.transactions if t.settled == 0]
    # out of gas: the batch and its half are halved at once; the fill alone is retried
    assert len(reverted) == 2 + MAX_REVERTS


def test_a_failing_listener_cannot_stop_settlement(chain: Chain, tmp_path: Path) -> None:
    a, b, c, d = chain.traders(4)
    matches = [chain.fill(a, b), chain.fill(c, d)]
    durable = 0
    runner = SettlementRunner(
        chain.batcher, chain.domain, SettledCursor(tmp_path / "cursor"), lambda: durable
    )
    heard: list[FillOutcome] = []

    def broken(outcome: FillOutcome) -> None:
        raise RuntimeError("a listener bug")

    runner.subscribe(broken)
    runner.subscribe(heard.append)

    async def rounds() -> None:
        nonlocal durable
        for seq, match in enumerate(matches, start=1):
            runner.on_event(engine_fill(seq, match))
            durable = seq
            assert await runner.settle_once() is not None

    asyncio.run(rounds())

    assert [type(o) for o in heard] == [Settled, Settled]
    assert runner.cursor.seq == 2 and not runner.unsettled()
    assert chain.position(d.address) == chain.market.lot_size


def test_a_restarted_runner_does_not_resend_settled_fills(chain: Chain, tmp_path: Path) -> None:
    a, b, c, d = chain.traders(4)
    settled = [chain.fill(a, b), chain.fill(c, d)]
    before = SettlementRunner(
        chain.batcher, chain.domain, SettledCursor(tmp_path / "cursor"), lambda: 2
    )
    first: list[FillOutcome] = []
    before.subscribe(first.append)
    for seq, match in enumerate(settled, start=1):
        before.on_event(engine_fill(seq, match))
    asyncio.run(before.settle_once())
    operator_nonce = chain.web3.eth.get_transaction_count(chain.operator.address)

    # the node crashed before writing its cursor (or the cursor trails by a waiting fill):
    # the journal's replay queues both settled fills again, and a new one
    after = SettlementRunner(
        chain.batcher, chain.domain, SettledCursor(tmp_path / "crashed"), lambda: 3
    )
    heard: list[FillOutcome] = []
    after.subscribe(heard.append)
    for seq, match in enumerate([*settled, chain.fill(a, d)], start=1):
        after.on_event(engine_fill(seq, match))
    report = asyncio.run(after.settle_once())

    assert report is not None and [t.fills for t in report.transactions] == [1]
    assert chain.web3.eth.get_transaction_count(chain.operator.address) == operator_nonce + 1
    assert [replace(o, earlier=False) for o in heard[:2]] == first  # the original transactions
    assert [o.earlier for o in heard if isinstance(o, Settled)] == [True, True, False]
    refused = chain.contracts.exchange.events.FillRejected().get_logs(
        from_block=chain.deployment.start_block
    )
    settled_keys = {fill_key(match) for match in settled}
    assert not [e for e in refused if (e.args.maker_hash, e.args.taker_hash) in settled_keys]
    assert after.cursor.seq == 3 and not after.unsettled()


def test_a_settled_fill_of_another_size_is_not_taken_for_a_queued_one(chain: Chain) -> None:
    a, b = chain.traders(2)
    lot = chain.market.lot_size
    half = chain.fill(a, b, lots=2)
    half = replace(half, size=Size(lot))  # the two orders filled each other by one lot of two
    chain.batcher().settle([half])

    whole = replace(half, size=Size(2 * lot))
    found = chain.batcher().settled_before([whole, half])

    assert [settled.match for settled in found] == [half]


def test_a_fill_that_cannot_be_encoded_cannot_stop_settlement(chain: Chain, tmp_path: Path) -> None:
    """Fault injection by a bad payload: the engine never makes a fill of 2**200 size units,
    but its fill word then exceeds uint256, so web3 refuses to encode every ``settle`` that
    carries it; an error that is not a revert and repeats every round, as a batcher bug on
    one fill would. After ``ISOLATE_AFTER_ROUNDS`` such rounds the runner settles the fills
    apart: the two good fills settle and the bad one alone is rejected, with its cause."""
    a, b, c, d, e, f = chain.traders(6)
    good = chain.fill(a, b)
    bad = replace(chain.fill(c, d), size=Size(2**200))
    later = chain.fill(e, f)
    runner = SettlementRunner(
        chain.batcher, chain.domain, SettledCursor(tmp_path / "cursor"), lambda: 3
    )
    heard: list[FillOutcome] = []
    runner.subscribe(heard.append)

    async def rounds() -> SettlementReport | None:
        for seq, match in enumerate((good, bad, later), start=1):
            runner.on_event(engine_fill(seq, match))
        for _ in range(ISOLATE_AFTER_ROUNDS):
            assert await runner.settle_once() is None  # the whole round fails
        assert heard == [] and runner.failures == ISOLATE_AFTER_ROUNDS
        return await runner.settle_once()

    report = asyncio.run(rounds())

    assert report is not None and runner.failures == 0
    settled, rejected, settled_later = heard
    assert isinstance(settled, Settled) and settled.match == good
    assert isinstance(settled_later, Settled) and settled_later.match == later
    assert isinstance(rejected, Rejected) and rejected.match == bad
    assert rejected.reason is RejectReason.FAILS_ALONE and rejected.cause
    assert chain.position(b.address) == chain.position(f.address) == chain.market.lot_size
    assert chain.position(d.address) == 0
    assert runner.cursor.seq == 3 and not runner.unsettled()


def test_settling_apart_never_splits_the_fills_of_a_fill_or_kill_order(
    chain: Chain, tmp_path: Path
) -> None:
    """Fault injection by a bad payload, as above, last in a round after an FOK order that
    fills against two makers: halving four single fills would cut between the FOK's two
    (the contract skips an FOK that a batch does not complete); they settle together."""
    seller, other_seller, buyer, good_buyer, c, d = chain.traders(6)
    good = chain.fill(seller, good_buyer)
    fok = sign_order(
        replace(chain.order(buyer, is_buy=True, lots=2).order, time_in_force=TimeInForce.FOK),
        buyer,
        chain.domain,
    )
    lot = Size(chain.market.lot_size)
    price = chain.market.index_price
    fok_fills = [
        Match(chain.order(maker, is_buy=False, lots=1), fok, price, lot)
        for maker in (seller, other_seller)
    ]
    bad = replace(chain.fill(c, d), size=Size(2**200))
    runner = SettlementRunner(
        chain.batcher, chain.domain, SettledCursor(tmp_path / "cursor"), lambda: 4
    )
    heard: list[FillOutcome] = []
    runner.subscribe(heard.append)

    async def rounds() -> None:
        for seq, match in enumerate((good, *fok_fills, bad), start=1):
            runner.on_event(engine_fill(seq, match))
        for _ in range(ISOLATE_AFTER_ROUNDS):
            assert await runner.settle_once() is None
        assert await runner.settle_once() is not None

    asyncio.run(rounds())

    assert [type(o) for o in heard] == [Settled, Settled, Settled, Rejected]
    assert chain.position(buyer.address) == 2 * chain.market.lot_size


def test_a_node_outage_rejects_no_fill(chain: Chain, tmp_path: Path) -> None:
    """The node stops answering (its address points at a closed port) for more rounds
    than it takes to isolate a failing fill: every round fails, nothing is rejected, and
    once the node answers again every fill settles."""
    web3 = Web3(Web3.HTTPProvider(chain.deployment.rpc_url))
    live = web3.provider.endpoint_uri  # type: ignore[attr-defined]
    exchange = web3.eth.contract(
        address=chain.contracts.exchange.address, abi=chain.contracts.exchange.abi
    )
    batcher = Batcher(web3, exchange, chain.operator, from_block=chain.deployment.start_block)
    a, b, c, d = chain.traders(4)
    matches = [chain.fill(a, b), chain.fill(c, d)]
    # the same batcher after each failure: the outage then reaches settling apart too
    runner = SettlementRunner(
        lambda: batcher, chain.domain, SettledCursor(tmp_path / "cursor"), lambda: 2
    )
    heard: list[FillOutcome] = []
    runner.subscribe(heard.append)

    async def rounds() -> SettlementReport | None:
        for seq, match in enumerate(matches, start=1):
            runner.on_event(engine_fill(seq, match))
        web3.provider.endpoint_uri = f"http://127.0.0.1:{closed_port()}"  # type: ignore[attr-defined]
        for _ in range(2 * ISOLATE_AFTER_ROUNDS):
            assert await runner.settle_once() is None
        assert heard == [] and len(runner.unsettled()) == 2
        assert runner.failures == 2 * ISOLATE_AFTER_ROUNDS  # half of them settling apart
        web3.provider.endpoint_uri = live  # type: ignore[attr-defined]
        return await runner.settle_once()

    assert asyncio.run(rounds()) is not None
    assert [type(o) for o in heard] == [Settled, Settled]
    assert chain.position(b.address) == chain.position(d.address) == chain.market.lot_size


def closed_port() -> int:
    """A local port nothing listens on (bound, then released)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


def engine_fill(seq: int, match: Match) -> Filled:
    """The engine's ``Filled`` event of ``match``, at sequence number ``seq``."""
    taker = match.taker.order
    return Filled(
        seq,
        taker.market,
        OrderId(2 * seq),
        OrderId(2 * seq + 1),
        taker.trader,
        match.maker.order.trader,
        taker.side,
        match.price,
        match.size,
        order_payload(match.taker),
        order_payload(match.maker),
    )
