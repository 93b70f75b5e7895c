"""Receipts of acknowledged orders: signed once their journal entry is durable.

The gateway tells :class:`ReceiptIssuer` which seq placed (or amended to) an order of which
connection; the sequencer tells it the chain head after each entry it made durable
(``Sequencer.on_durable``). For each such order the issuer builds
``Receipt(orderHash, shard, seq, head, time)``, ``shard`` the engine shard whose journal the
sequencer writes (the embedded node's: 0) and ``time`` the entry's own stamp, so that every
field follows from the published journal, and hands it to a signer. The signed receipt goes to
the connection as a ``receipt`` frame, after the order's ``placed`` (or ``amended``) frame.

Signing is an ECDSA signature per order, most of the cost of the order's own recovery, so
the node runs it in a worker process (:class:`WorkerSigner`): the loop packs 82 bytes per
receipt and reads back the encoded frames, and acks and fills never wait for it
(docs/performance.md). :class:`InlineSigner` signs on the loop, within the same release.
"""

from __future__ import annotations

import asyncio
import logging
import multiprocessing
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from multiprocessing.connection import Connection
from struct import Struct
from typing import Protocol

from perpdex.chain.deployment import Deployment, Role
from perpdex.core.eip712 import ChainHeadHash, Eip712Domain, JournalSeq, Receipt, UnixMillis
from perpdex.core.signing import SigningKey
from perpdex.core.types import EMBEDDED_SHARD, Address, OrderHash, ShardId
from perpdex.engine.codec import HEADER
from perpdex.gateway import protocol as wire
from perpdex.gateway.command_sink import JournalPoint
from perpdex.gateway.orders import OrderRecord
from perpdex.gateway.protocol import encode_frame
from perpdex.gateway.session import Outbox, Session
from perpdex.receipts import WireReceipt, receipt_domain, sign_receipt

log = logging.getLogger(__name__)

RECEIPT = Struct(">32sHQ32sQ")
"""A receipt to sign, as the loop hands it over: order hash, shard, seq, head, time."""

Deliver = Callable[[list[bytes]], None]
"""Gets the encoded ``receipt`` frames of one request, in its order."""


class ReceiptSigner(Protocol):
    def sign(self, request: bytes, deliver: Deliver) -> None:
        """Sign the receipts packed in ``request`` (``RECEIPT`` each); ``deliver`` gets their
        ``receipt`` frames, in order (now or later)."""

    def close(self) -> None: ...


@dataclass(frozen=True, slots=True)
class ReceiptKey:
    """The operator's checkpoint key and the Checkpoints contract's domain it signs in."""

    key: SigningKey
    domain: Eip712Domain


def make_signer(signing: ReceiptKey, *, worker: bool) -> ReceiptSigner:
    """A signer in a worker process, or on the loop."""
    return WorkerSigner(signing) if worker else InlineSigner(signing)


def receipt_frames(signing: ReceiptKey, request: bytes) -> list[bytes]:
    """The signed ``receipt`` frames of the receipts packed in ``request``."""
    frames = []
    for order_hash, shard, seq, head, time in RECEIPT.iter_unpack(request):
        receipt = Receipt(
            OrderHash(order_hash),
            ShardId(shard),
            JournalSeq(seq),
            ChainHeadHash(head),
            UnixMillis(time),
        )
        signature = sign_receipt(receipt, signing.key, signing.domain).signature
        frame = wire.ReceiptIssued(receipt=WireReceipt.of(receipt, signature))
        frames.append(encode_frame(frame))
    return frames


def receipt_key(deployment: Deployment) -> ReceiptKey:
    """The keeper posts the checkpoints (``services/keeper.py``, ``cluster/keeper_process.py``),
    so its key is the ``Checkpoints`` operator's and signs the receipts, in that contract's
    domain. ValueError when the deployment file holds no keeper key."""
    keeper = deployment.wallet(Role.KEEPER).account()
    domain = receipt_domain(deployment.chain_id, deployment.contracts.checkpoints)
    return ReceiptKey(SigningKey(bytes(keeper.key)), domain)


class InlineSigner:
    def __init__(self, signing: ReceiptKey) -> None:
        self._signing = signing

    def sign(self, request: bytes, deliver: Deliver) -> None:
        deliver(receipt_frames(self._signing, request))

    def close(self) -> None:
        pass


class WorkerSigner:
    """One process holds a copy of the key; it builds, signs and encodes the frames, so the
    loop only packs 82 bytes per receipt and splits the answer. One request at a time: what
    arrives meanwhile waits and goes as the next request (requests grow with the load, and
    neither side can block the other on a full pipe)."""

    def __init__(self, signing: ReceiptKey) -> None:
        self._signing = signing
        context = multiprocessing.get_context("spawn")
        ours, theirs = context.Pipe()
        domain = signing.domain
        self._process = context.Process(
            target=_sign_requests,
            args=(theirs, signing.key.secret, domain.chain_id, domain.verifying_contract),
            daemon=True,
        )
        self._process.start()
        theirs.close()
        self._pipe: Connection | None = ours
        self._waiting: list[tuple[bytes, Deliver]] = []
        self._in_flight: list[tuple[bytes, Deliver]] = []
        self._loop: asyncio.AbstractEventLoop | None = None

    def sign(self, request: bytes, deliver: Deliver) -> None:
        if self._pipe is None:
            InlineSigner(self._signing).sign(request, deliver)
            return
        if self._loop is None:
            self._loop = asyncio.get_running_loop()
            self._loop.add_reader(self._pipe.fileno(), self._answered)
        self._waiting.append((request, deliver))
        self._ship()

    def close(self) -> None:
        pipe, self._pipe = self._pipe, None
        if pipe is not None:
            if self._loop is not None:
                self._loop.remove_reader(pipe.fileno())
            pipe.close()  # the worker reads end-of-file and exits
        self._process.join(timeout=5)
        if self._process.is_alive():
            self._process.kill()
        self._waiting.clear()
        self._in_flight.clear()

    def _ship(self) -> None:
        if self._in_flight or not self._waiting or self._pipe is None:
            return
        self._in_flight, self._waiting = self._waiting, []
        try:
            self._pipe.send_bytes(b"".join(request for request, _ in self._in_flight))
        except OSError:
            self._lost()

    def _answered(self) -> None:
        assert self._pipe is not None
        try:
            answer = self._pipe.recv_bytes()
        except (EOFError, OSError):
            self._lost()
            return
        frames = answer.split(_SEPARATOR)
        done, self._in_flight = self._in_flight, []
        at = 0
        for request, deliver in done:
            count = len(request) // RECEIPT.size
            deliver(frames[at : at + count])
            at += count
        self._ship()

    def _lost(self) -> None:
        """The worker died: what it had, and everything from now on, is signed on the loop."""
        log.error("the receipt signer process died; signing receipts on the loop")
        pipe, self._pipe = self._pipe, None
        if pipe is not None:
            if self._loop is not None:
                self._loop.remove_reader(pipe.fileno())
            pipe.close()
        orphans = self._in_flight + self._waiting
        self._in_flight, self._waiting = [], []
        for request, deliver in orphans:
            InlineSigner(self._signing).sign(request, deliver)


_SEPARATOR = b"\n"  # never inside a frame: compact JSON escapes newlines in strings


def _sign_requests(pipe: Connection, secret: bytes, chain_id: int, checkpoints: str) -> None:
    """The worker's whole life: answer each request with its frames, until the gateway
    hangs up."""
    signing = ReceiptKey(SigningKey(secret), receipt_domain(chain_id, Address(checkpoints)))
    while True:
        try:
            request = pipe.recv_bytes()
        except EOFError:
            return
        pipe.send_bytes(_SEPARATOR.join(receipt_frames(signing, request)))


class ReceiptIssuer:
    """Builds the receipt of each order the gateway acknowledged, once its entry is durable
    in the journal of engine shard ``shard``, and queues it, signed, to the connection that
    placed the order."""

    def __init__(
        self,
        signer: ReceiptSigner,
        outbox: Outbox,
        released: Callable[[], None],
        shard: ShardId = EMBEDDED_SHARD,
    ):
        self._signer = signer
        self._shard = shard
        self._outbox = outbox
        self._released = released
        self._awaiting: dict[int, tuple[Session, OrderHash, OrderRecord]] = {}
        self._durable: tuple[int, Sequence[bytes], Sequence[bytes]] = (1, (), ())
        """The last group made durable: a full group is flushed inside the ``submit`` of
        its last command, before the gateway can say which order that command placed."""

    def expect(
        self,
        seq: int,
        session: Session,
        order_hash: OrderHash,
        record: OrderRecord,
        entry: JournalPoint | None = None,
    ) -> None:
        """The entry ``seq`` placed (or amended ``record`` to) ``order_hash`` for ``session``;
        the record keeps the receipt, for an idempotent retry's ack. ``entry``: the entry is
        durable already, there (cluster mode): signed now, in its shard."""
        if entry is not None:
            packed = RECEIPT.pack(order_hash, entry.shard, seq, entry.head, entry.time)
            self._signer.sign(packed, lambda frames: self._send([(session, record)], frames))
            return
        self._awaiting[seq] = (session, order_hash, record)
        first, entries, heads = self._durable
        if seq < first + len(entries):  # durable already: its group is the last one
            self.on_durable(first, entries, heads)

    def on_durable(self, first: int, entries: Sequence[bytes], heads: Sequence[bytes]) -> None:
        """The sequencer made entries ``first``, ``first + 1``, ... durable."""
        self._durable = (first, entries, heads)
        awaiting = self._awaiting
        if not awaiting:
            return
        receivers: list[tuple[Session, OrderRecord]] = []
        packed: list[bytes] = []
        pack, shard = RECEIPT.pack, self._shard
        for seq in range(first, first + len(entries)):
            waiting = awaiting.pop(seq, None)
            if waiting is not None:
                session, order_hash, record = waiting
                _, time, _ = HEADER.unpack_from(entries[seq - first])
                receivers.append((session, record))
                packed.append(pack(order_hash, shard, seq, heads[seq - first], time))
        if packed:
            self._signer.sign(b"".join(packed), lambda frames: self._send(receivers, frames))

    def _send(self, receivers: list[tuple[Session, OrderRecord]], frames: list[bytes]) -> None:
        put = self._outbox.put
        for (session, record), frame in zip(receivers, frames, strict=True):
            record.receipt = frame
            put((session,), frame)
        self._released()

    def close(self) -> None:
        self._signer.close()
