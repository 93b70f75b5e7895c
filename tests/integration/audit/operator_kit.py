"""An operator on a real anvil, built from the node's own parts but driven by hand, so a
test can be the dishonest operator: it signs orders as the gateway receives them, runs them
through the engine's sequencer into a real journal file, settles the engine's fills with the
operator key (the batcher), posts checkpoints (the keeper's checkpointer), and may also do
what an honest node never does (forge the journal, settle a fill nobody matched).

``audit()`` then runs ``perpdex audit`` itself, as anyone would: the deployment file and the
journal, no key."""

from __future__ import annotations

import contextlib
import io
import itertools
import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from eth_account import Account
from web3 import Web3

from perpdex.chain.deploy import ChainContracts, bind
from perpdex.chain.deployment import Deployment, ListedMarket, Role, write_deployment
from perpdex.chain.transact import send
from perpdex.cli.main import main
from perpdex.core.eip712 import (
    ChainHeadHash,
    ChainId,
    Eip712Domain,
    FeePpm,
    JournalSeq,
    Nonce,
    Order,
    Receipt,
    SignedOrder,
    UnixMillis,
    UnixTime,
    sign_order,
)
from perpdex.core.signing import SigningKey, keccak256
from perpdex.core.types import (
    EMBEDDED_SHARD,
    MarginMode,
    OrderId,
    Price,
    ShardId,
    Size,
    TimeInForce,
)
from perpdex.engine.clock import ManualClock
from perpdex.engine.codec import decode
from perpdex.engine.commands import Command, NewOrder
from perpdex.engine.engine import Engine
from perpdex.engine.events import Event, EventBus, Filled
from perpdex.engine.file_journal import FileJournal, read_file
from perpdex.engine.journal import GENESIS_HEAD, ChainHead
from perpdex.engine.sequencer import Sequencer
from perpdex.keeper.checkpoint import Checkpointer
from perpdex.receipts import ReceiptStore, receipt_domain, sign_receipt
from perpdex.risk.from_chain import engine_markets
from perpdex.settlement.batcher import Batcher
from perpdex.settlement.encoding import Match
from perpdex.settlement.outcomes import SettlementReport
from perpdex.settlement.payload import match_from_fill, order_hash_of_payload, order_payload

DAY = 86_400
_names = itertools.count()


@dataclass
class Operator:
    web3: Web3
    deployment: Deployment
    deployment_file: Path
    journal_path: Path
    shard: ShardId = EMBEDDED_SHARD
    """The engine shard this operator's journal is: its receipts name it, its checkpoints
    go to its log."""
    contracts: ChainContracts = field(init=False)
    market: ListedMarket = field(init=False)
    domain: Eip712Domain = field(init=False)
    fills: list[Filled] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.contracts = bind(self.web3, self.deployment)
        self.market = self.deployment.markets[0]
        self.domain = Eip712Domain(
            ChainId(self.deployment.chain_id), self.deployment.contracts.exchange
        )
        self.operator = self.deployment.wallet(Role.OPERATOR).account()
        self.admin = self.deployment.wallet(Role.ADMIN).account()
        bus = EventBus(book_deltas=False)
        bus.subscribe(self._note)
        self.clock = ManualClock(1_000)
        self.markets = engine_markets(self.deployment)
        self.journal = FileJournal(self.journal_path)
        self.sequencer = Sequencer(Engine(self.markets, bus), self.clock, self.journal)
        self.submitted: list[tuple[int, Command]] = []
        self.receipts = ReceiptStore(self.journal_path.parent / "receipts")
        self.receipted, self.receipted_head = GENESIS_HEAD.seq, GENESIS_HEAD.head
        self._order_ids = itertools.count(1)
        self._nonces = itertools.count(1)

    def _note(self, event: Event) -> None:
        if isinstance(event, Filled):
            self.fills.append(event)

    # -- traders and their signed orders --------------------------------------------------

    def traders(self, count: int, usdc: int = 100_000) -> list[SigningKey]:
        keys = [
            SigningKey(keccak256(f"audit trader {next(_names)}".encode())) for _ in range(count)
        ]
        amount = usdc * 10**6 * count
        collateral, exchange = self.contracts.collateral, self.contracts.exchange
        send(self.web3, self.admin, collateral.functions.faucet(self.admin.address, amount))
        send(self.web3, self.admin, collateral.functions.approve(exchange.address, amount))
        for key in keys:
            send(self.web3, self.admin, exchange.functions.deposit_for(key.address, usdc * 10**6))
        return keys

    def signed(self, key: SigningKey, *, buy: bool, ticks: int = 0, lots: int = 1) -> SignedOrder:
        """An order at the index price plus ``ticks``."""
        market = self.market
        order = Order(
            trader=key.address,
            market=market.id,
            is_buy=buy,
            size=Size(lots * market.lot_size),
            limit_price=Price(market.index_price + ticks * market.tick_size),
            max_fee_ppm=FeePpm(market.taker_fee_ppm),
            margin_mode=MarginMode.CROSS,
            time_in_force=TimeInForce.GTC,
            reduce_only=False,
            expiry=UnixTime(self.web3.eth.get_block("latest")["timestamp"] + DAY),
            nonce=Nonce(next(self._nonces)),
        )
        return sign_order(order, key, self.domain)

    def new_order(self, signed: SignedOrder) -> NewOrder:
        """The engine command the gateway makes of ``signed``."""
        order = signed.order
        return NewOrder(
            market=order.market,
            order_id=OrderId(next(self._order_ids)),
            account=order.trader,
            side=order.side,
            price=order.limit_price,
            size=order.size,
            tif=order.time_in_force,
            payload=order_payload(signed),
        )

    # -- what the operator does -----------------------------------------------------------

    def submit(self, *commands: Command) -> None:
        """Sequence ``commands``; each new order gets the operator's signed receipt."""
        for command in commands:
            self.clock.time += 10
            self.submitted.append((self.clock.time, command))
            self.sequencer.submit(command)
        self.sequencer.flush()
        key = SigningKey(bytes(self.operator.key))
        domain = receipt_domain(self.deployment.chain_id, self.deployment.contracts.checkpoints)
        for item in read_file(self.journal_path, ChainHead(self.receipted, self.receipted_head)):
            _, time, command = decode(item.entry)
            if isinstance(command, NewOrder):
                order_hash = order_hash_of_payload(command.payload, self.domain)
                receipt = Receipt(
                    order_hash,
                    self.shard,
                    JournalSeq(item.seq),
                    ChainHeadHash(item.head),
                    UnixMillis(time),
                )
                self.receipts.add(sign_receipt(receipt, key, domain))
            self.receipted, self.receipted_head = item.seq, item.head

    def hash_of(self, command: Command) -> str:
        assert isinstance(command, NewOrder)
        return "0x" + order_hash_of_payload(command.payload, self.domain).hex()

    def write_journal(self, path: Path, timed: Sequence[tuple[int, Command]]) -> Path:
        """A journal of ``timed`` commands, hash-chained as the engine writes any: what a
        dishonest operator publishes instead of its own."""
        clock = ManualClock()
        journal = FileJournal(path)
        sequencer = Sequencer(Engine(self.markets), clock, journal)
        for time, command in timed:
            clock.time = time
            sequencer.submit(command)
        sequencer.flush()
        journal.close()
        return path

    def settle(self, matches: Sequence[Match] | None = None) -> SettlementReport:
        """Settle ``matches`` (default: every fill the engine made so far)."""
        if matches is None:
            matches = [match_from_fill(fill, self.domain) for fill in self.fills]
        batcher = Batcher(
            self.web3,
            self.contracts.exchange,
            self.operator,
            from_block=self.deployment.start_block,
        )
        return batcher.settle(matches)

    def raise_nonce_floor(self, key: SigningKey, floor: int) -> None:
        """The trader's own ``raise_nonce_floor`` (given gas money first)."""
        self.web3.provider.make_request("anvil_setBalance", [key.address, hex(10**18)])  # type: ignore[arg-type]
        trader = Account.from_key(key.secret)
        send(self.web3, trader, self.contracts.exchange.functions.raise_nonce_floor(floor))

    def checkpoint(self, journal: Path | None = None) -> None:
        """Post the head of the journal (or of ``journal``, a forged one)."""
        path = journal or self.journal_path
        checkpoints = self.contracts.checkpoints
        Checkpointer(self.web3, checkpoints, self.operator, path, shard=self.shard).sync()

    def post_checkpoint(self, seq: int, head: bytes) -> None:
        send(
            self.web3,
            self.operator,
            self.contracts.checkpoints.functions.post(self.shard, seq, head),
        )

    def close(self) -> None:
        self.journal.close()

    # -- anyone ---------------------------------------------------------------------------

    def audit(self, journal: str | Path | None = None, *extra: str) -> tuple[int, dict[str, Any]]:
        """``perpdex audit --json`` of this deployment: (exit code, the JSON object)."""
        code, out = self.audit_text(journal, "--json", *extra)
        return code, json.loads(out)

    def audit_text(self, journal: str | Path | None = None, *extra: str) -> tuple[int, str]:
        """``perpdex audit`` of this deployment: (exit code, what it printed)."""
        out = io.StringIO()
        argv = [
            "audit",
            "--deployment",
            str(self.deployment_file),
            "--journal",
            str(journal or self.journal_path),
            *extra,
        ]
        with contextlib.redirect_stdout(out):
            code = main(argv)
        return code, out.getvalue()


def operator_on(
    web3: Web3, deployment: Deployment, folder: Path, shard: ShardId = EMBEDDED_SHARD
) -> Operator:
    deployment_file = write_deployment(deployment, folder / "deployment.json")
    return Operator(web3, deployment, deployment_file, folder / "journal.bin", shard)
