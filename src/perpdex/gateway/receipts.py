"""Receipts of acknowledged orders: signed once their journal entry is durable.

The gateway tells :class:`ReceiptIssuer` which seq placed (or amended to) an order of which
connection; the sequencer tells it the chain head after each entry it made durable
(``Sequencer.on_durable``). For each such order the issuer builds
``Receipt(orderHash, seq, head, time)``, ``time`` the entry's own stamp, so that every field
follows from the published journal, and hands it to a signer. The signed receipt goes to
the connection as a ``receipt`` frame, after the order's ``placed`` (or ``amended``) frame.

Signing is an ECDSA signature per order, most of the cost of the order's own recovery, so
the node runs it in a worker process (:class:`WorkerSigner`): the loop sends 32-byte
digests and reads back 65-byte signatures, and acks and fills never wait for it
(docs/performance.md). :class:`InlineSigner` signs on the loop, within the same release.
"""

from __future__ import annotations

import asyncio
import logging
import multiprocessing
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from multiprocessing.connection import Connection
from typing import Protocol

from perpdex.core.eip712 import ChainHeadHash, Eip712Domain, JournalSeq, Receipt, UnixMillis
from perpdex.core.signing import Digest, Signature, SigningKey
from perpdex.core.types import OrderHash
from perpdex.engine.codec import HEADER
from perpdex.gateway import protocol as wire
from perpdex.gateway.protocol import encode_frame
from perpdex.gateway.session import Outbox, Session
from perpdex.receipts import SignedReceipt, WireReceipt, sign_receipt

log = logging.getLogger(__name__)

Deliver = Callable[[list[SignedReceipt]], None]

_DIGEST = 32
_SIGNATURE = 65  # r || s || v


class ReceiptSigner(Protocol):
    def sign(self, receipts: Sequence[Receipt], deliver: Deliver) -> None:
        """Sign ``receipts``; ``deliver`` gets them signed, in order (now or later)."""

    def close(self) -> None: ...


@dataclass(frozen=True, slots=True)
class ReceiptKey:
    """The operator's checkpoint key and the Checkpoints contract's domain it signs in."""

    key: SigningKey
    domain: Eip712Domain


def make_signer(signing: ReceiptKey, *, worker: bool) -> ReceiptSigner:
    """A signer in a worker process, or on the loop."""
    if worker:
        return WorkerSigner(signing.key, signing.domain)
    return InlineSigner(signing.key, signing.domain)


class InlineSigner:
    def __init__(self, key: SigningKey, domain: Eip712Domain) -> None:
        self._key = key
        self._domain = domain

    def sign(self, receipts: Sequence[Receipt], deliver: Deliver) -> None:
        deliver([sign_receipt(receipt, self._key, self._domain) for receipt in receipts])

    def close(self) -> None:
        pass


class WorkerSigner:
    """One process holds a copy of the key and signs digests, one request at a time: what
    arrives meanwhile waits and goes as the next request (so requests grow with the load,
    and neither side can block the other on a full pipe)."""

    def __init__(self, key: SigningKey, domain: Eip712Domain) -> None:
        self._key = key
        self._domain = domain
        context = multiprocessing.get_context("spawn")
        ours, theirs = context.Pipe()
        self._process = context.Process(
            target=_sign_batches, args=(theirs, key.secret), daemon=True
        )
        self._process.start()
        theirs.close()
        self._pipe: Connection | None = ours
        self._waiting: list[tuple[list[Receipt], Deliver]] = []
        self._in_flight: list[tuple[list[Receipt], Deliver]] = []
        self._loop: asyncio.AbstractEventLoop | None = None

    def sign(self, receipts: Sequence[Receipt], deliver: Deliver) -> None:
        if self._pipe is None:
            InlineSigner(self._key, self._domain).sign(receipts, deliver)
            return
        if self._loop is None:
            self._loop = asyncio.get_running_loop()
            self._loop.add_reader(self._pipe.fileno(), self._answered)
        self._waiting.append((list(receipts), deliver))
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
        digest = self._domain.digest
        request = b"".join(digest(r) for receipts, _ in self._in_flight for r in receipts)
        try:
            self._pipe.send_bytes(request)
        except OSError:
            self._lost()

    def _answered(self) -> None:
        assert self._pipe is not None
        try:
            answer = self._pipe.recv_bytes()
        except (EOFError, OSError):
            self._lost()
            return
        done, self._in_flight = self._in_flight, []
        at = 0
        for receipts, deliver in done:
            signed = []
            for receipt in receipts:
                signature = Signature.from_bytes(answer[at : at + _SIGNATURE])
                signed.append(SignedReceipt(receipt, signature, self._domain, self._key.address))
                at += _SIGNATURE
            deliver(signed)
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
        for receipts, deliver in orphans:
            InlineSigner(self._key, self._domain).sign(receipts, deliver)


def _sign_batches(pipe: Connection, secret: bytes) -> None:
    """The worker's whole life: sign each batch of digests, until the gateway hangs up."""
    key = SigningKey(secret)
    while True:
        try:
            request = pipe.recv_bytes()
        except EOFError:
            return
        pipe.send_bytes(
            b"".join(
                key.sign_digest(Digest(request[at : at + _DIGEST])).to_bytes()
                for at in range(0, len(request), _DIGEST)
            )
        )


class ReceiptIssuer:
    """Builds the receipt of each order the gateway acknowledged, once its entry is durable,
    and queues it, signed, to the connection that placed the order."""

    def __init__(self, signer: ReceiptSigner, outbox: Outbox, released: Callable[[], None]):
        self._signer = signer
        self._outbox = outbox
        self._released = released
        self._awaiting: dict[int, tuple[Session, OrderHash]] = {}

    def expect(self, seq: int, session: Session, order_hash: OrderHash) -> None:
        """The entry ``seq`` placed (or amended to) ``order_hash`` for ``session``."""
        self._awaiting[seq] = (session, order_hash)

    def on_durable(self, first: int, entries: Sequence[bytes], heads: Sequence[bytes]) -> None:
        """The sequencer made entries ``first``, ``first + 1``, ... durable."""
        awaiting = self._awaiting
        if not awaiting:
            return
        sessions: list[Session] = []
        receipts: list[Receipt] = []
        for seq in range(first, first + len(entries)):
            waiting = awaiting.pop(seq, None)
            if waiting is None:
                continue
            entry, head = entries[seq - first], heads[seq - first]
            _, time, _ = HEADER.unpack_from(entry)
            sessions.append(waiting[0])
            receipts.append(
                Receipt(waiting[1], JournalSeq(seq), ChainHeadHash(head), UnixMillis(time))
            )
        if receipts:
            self._signer.sign(receipts, lambda signed: self._send(sessions, signed))

    def _send(self, sessions: list[Session], signed: list[SignedReceipt]) -> None:
        for session, receipt in zip(sessions, signed, strict=True):
            frame = wire.ReceiptIssued(receipt=WireReceipt.of(receipt.receipt, receipt.signature))
            self._outbox.put((session,), encode_frame(frame))
        self._released()

    def close(self) -> None:
        self._signer.close()
