"""The gateway's logic: requests in, typed engine commands to the sequencer, frames out.

Everything here runs on the asyncio event loop, which also owns the sequencer and the
engine (a command is applied synchronously in ``submit``). Signatures of orders are
checked by a :class:`~perpdex.gateway.verify.Verifier` before anything reaches the engine;
cheap checks (size of the frame, rate, market, expiry) run first so that bad input costs
little. Every refusal is a typed ``error`` frame to its sender and a log line; none
changes any state.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import Counter, deque
from collections.abc import Callable, Iterable, Sequence
from typing import TypeVar

from websockets.asyncio.connection import Connection

from perpdex.core.eip712 import Eip712Domain, SignedOrder, verify_cancel
from perpdex.core.leverage import LeverageError, parse_leverage
from perpdex.core.signing import InvalidSignatureError, Signature
from perpdex.core.types import Address, MarketId, OrderHash
from perpdex.engine.clock import Clock, WallClock
from perpdex.engine.commands import (
    Amend,
    Cancel,
    CancelAccount,
    CancelAll,
    ChainCancel,
    Command,
    IndexPrice,
    NewOrder,
    SetDeadMan,
)
from perpdex.engine.events import EventBus
from perpdex.engine.sequencer import Sequencer
from perpdex.gateway import protocol as wire
from perpdex.gateway.account_log import AccountLog
from perpdex.gateway.account_store import AccountStore
from perpdex.gateway.auth import Logins
from perpdex.gateway.command_sink import CommandSink, LocalCommands, Outcome
from perpdex.gateway.feeds import Feeds
from perpdex.gateway.limits import AccountBuckets, Limits, TokenBucket
from perpdex.gateway.orders import OrderRecord, OrderRegistry
from perpdex.gateway.protocol import Channel, ErrorCode, ProtocolError, encode_frame
from perpdex.gateway.receipts import ReceiptIssuer, ReceiptSigner
from perpdex.gateway.risk import (
    SETTLE_MARGIN_S,
    LeverageSetting,
    Refusal,
    RiskCheck,
    ShareLeverage,
)
from perpdex.gateway.session import Outbox, Session
from perpdex.gateway.tape import MarketTape
from perpdex.gateway.verify import InlineVerifier, Unverified, Verifier
from perpdex.settlement.payload import order_from_payload, verified_payload

log = logging.getLogger(__name__)

T = TypeVar("T")
R = TypeVar("R")

MAX_FRAME = 64 * 1024
"""Largest frame the protocol reads; a larger one (up to the socket limit) gets too_large."""

MAX_SEND_BUFFER = 4 * 1024 * 1024
"""Bytes queued to one client beyond which it is closed as a slow consumer."""

MAX_RESUME_EVENTS = 1000
"""Most account events an account subscription resumes with (about 250 KB); a client
further behind pages them over HTTP (``resume_too_old``)."""

LATENCY_SAMPLES = 100_000
_MS = 1000


class Gateway:
    """Serves one engine. ``risk`` is required: pass ``AllowAll()`` to admit everything.

    ``accounts`` is the account event log fed by the engine's bus (the node's, rebuilt from
    the journal); without one the gateway logs into memory from its first event on. ``tape``
    (recent trades, candles) likewise. With ``receipts`` (the operator's checkpoint key) every
    order it acknowledges gets a signed receipt once its journal entry is durable (a
    sequencer without a journal has no chain heads: no receipts). ``share_leverage``
    (cluster mode) makes a trader's cap durable for every gateway before it is answered."""

    def __init__(
        self,
        sequencer: Sequencer | CommandSink,
        bus: EventBus,
        domain: Eip712Domain,
        *,
        risk: RiskCheck,
        clock: Clock | None = None,
        limits: Limits | None = None,
        verifier: Verifier | None = None,
        max_frame: int = MAX_FRAME,
        accounts: AccountLog | None = None,
        max_resume_events: int = MAX_RESUME_EVENTS,
        tape: MarketTape | None = None,
        receipts: ReceiptSigner | None = None,
        share_leverage: ShareLeverage | None = None,
    ) -> None:
        self.commands = LocalCommands(sequencer) if isinstance(sequencer, Sequencer) else sequencer
        """Where commands go: the sequencer in this process, or the engine shards' command
        streams (cluster mode)."""
        self.engine = self.commands.engine
        self.domain = domain
        self.registry = OrderRegistry()
        self.risk = risk
        """The pre-trade check, also the source of the account figures HTTP reads show."""
        self._share_leverage = share_leverage
        self._clock = clock if clock is not None else WallClock()
        self._limits = limits if limits is not None else Limits()
        self._verifier = verifier if verifier is not None else InlineVerifier(domain)
        self._max_frame = max_frame
        self._max_resume_events = max_resume_events
        self._logins = Logins(domain)
        self._accounts = AccountBuckets(self._limits.account_rate, self._limits.account_burst)
        self._outbox = Outbox(MAX_SEND_BUFFER, MAX_FRAME)
        if accounts is None:
            accounts = AccountLog(AccountStore(), domain)
            bus.subscribe(accounts.on_event)
        self.accounts = accounts
        if tape is None:
            tape = MarketTape(self.engine.markets, self.engine.clock.now)
            bus.subscribe(tape.on_event)
        self.tape = tape
        self.feeds = Feeds(self.engine, self.registry, risk, self._outbox)
        bus.subscribe(self.feeds.on_event)
        accounts.attach(self.feeds.account_event)
        self.commands.attach(self.feeds, self.registry, accounts, self._schedule_release)
        self._release_scheduled = False
        self.receipts: ReceiptIssuer | None = None
        if receipts is not None:
            self.receipts = ReceiptIssuer(receipts, self._outbox, self._schedule_release)
            commands = self.commands
            if isinstance(commands, LocalCommands):
                if commands.journal is None:
                    raise ValueError("receipts name chain heads: they need a journal")
                commands.sequencer.on_durable = self.receipts.on_durable
            # else the engine shards' replicas: an outcome names its entry, durable already
            self.feeds.receipts = True
        self._fills_received: list[int] = []
        self.after_request: Callable[[], None] | None = None
        """Called after each request of a frame: the node ends orders its fills made
        unfillable before the next request can trade with them."""
        self.fill_latencies_ns: deque[int] = deque(maxlen=LATENCY_SAMPLES)
        """Frame received to its fill frames written to the sockets, per command that traded."""
        self.refusals: Counter[str] = Counter()
        """Requests refused, by error code (``GET /metrics``)."""

    # -- after a restart ------------------------------------------------------------------

    def adopt_open_orders(self) -> None:
        """Take over the engine's resting and held orders (placed through an earlier
        gateway): they can be cancelled and amended, and leaving the book releases their
        reservation.

        Their reservations are the risk check's to re-make (the position manager's
        ``adopt``): it outlives a gateway, so reserving here would count them twice."""
        for book in self.engine.markets.values():
            open_orders = [(o.command, o.remaining, False) for o in book.resting_orders()]
            sizes = book.held.open
            open_orders += [(o, sizes[o.order_id], True) for o in book.held.in_id_order()]
            for command, remaining, held in open_orders:
                self.accounts.adopt(command, remaining, held=held)
                self.registry.add(
                    OrderRecord(
                        order_id=command.order_id,
                        market=command.market,
                        signed=order_from_payload(command.payload, self.domain),
                        client_id=command.client_id,
                        request_id=None,
                        origin=None,
                        remaining=remaining,
                    )
                )

    def remember_accepted(self, orders: Iterable[SignedOrder]) -> None:
        """Every order the engine accepted before this gateway (from the journal), so a
        replay of one is refused as if this gateway had placed it."""
        for signed in orders:
            self.registry.remember(signed)

    def close_receipts(self) -> None:
        """Stop issuing receipts (the sequencer outlives this gateway); unsent ones are lost."""
        if self.receipts is not None:
            commands = self.commands
            if (
                isinstance(commands, LocalCommands)
                and commands.sequencer.on_durable == self.receipts.on_durable
            ):
                commands.sequencer.on_durable = None
            self.receipts.close()

    def submit_from_chain(self, command: ChainCancel | IndexPrice) -> None:
        """A command the node derived from the chain, not from a client: applied now, its
        frames (cancels, rejected fills, released trigger orders' fills) released with the
        next batch."""
        self.commands.submit_detached(command)
        self._schedule_release()

    # -- connections ----------------------------------------------------------------------

    def open_session(self, connection: Connection) -> Session:
        limits = self._limits
        bucket = TokenBucket(limits.connection_rate, limits.connection_burst, time.monotonic())
        return Session(connection, bucket)

    def close_session(self, session: Session) -> None:
        for channel, market in session.subscriptions:
            self._subscribers(channel, market, session.trader).discard(session)
        if session.cancel_on_disconnect and session.trader is not None:
            self.commands.submit_detached(CancelAccount(session.trader))
            self._schedule_release()

    async def handle_frame(self, session: Session, data: bytes | str, received_ns: int) -> None:
        """Answer every request of one frame, in order."""
        try:
            if len(data) > self._max_frame:
                raise ProtocolError(ErrorCode.TOO_LARGE, f"frames are at most {self._max_frame}")
            requests = wire.decode_frame(data)
        except ProtocolError as error:
            self._refuse(session, error, error.request_id)
            self._schedule_release()
            return
        now = time.monotonic()
        admitted = [session.bucket.take(now) for _ in requests]
        signed = await self._verify_orders(requests, admitted)
        for request, ok, verified in zip(requests, admitted, signed, strict=True):
            try:
                if not ok:
                    raise ProtocolError(ErrorCode.RATE_LIMITED, "too many requests per second")
                if isinstance(verified, ProtocolError):
                    raise verified
                await self._dispatch(session, request, verified, received_ns)
            except ProtocolError as error:
                self._refuse(session, error, request.id)
            except Exception:
                log.exception("request %r failed", request)
                self._refuse(session, ProtocolError(ErrorCode.INTERNAL, "internal error"), None)
            if self.after_request is not None:
                self.after_request()
        self._schedule_release()

    # -- release of frames ----------------------------------------------------------------

    def release(self) -> None:
        """Make every command durable, store its account events, then send every queued
        frame (an account subscription resuming reads the store here)."""
        self._release_scheduled = False
        self.commands.flush()
        self.accounts.commit()
        self._outbox.release()
        if self._fills_received:
            now = time.perf_counter_ns()
            self.fill_latencies_ns.extend(now - received for received in self._fills_received)
            self._fills_received.clear()

    @property
    def release_pending(self) -> bool:
        """Whether a command or frame waits for the next release (every request, tick and
        command from the chain schedules one): False means what the engine shows is durable."""
        return self._release_scheduled

    @property
    def orders_placed(self) -> int:
        """Orders the engine accepted since the journal began: its highest order id (ids
        grow by one per order)."""
        return max((book.last_order_id for book in self.engine.markets.values()), default=0)

    def tick(self) -> None:
        """Let time pass: expiries, dead-man switches, forgetting old hashes and buckets."""
        if self.commands.tick():
            self.feeds.end_command()
        self.registry.forget_closed(self._now_s())
        self._accounts.forget_idle(time.monotonic())
        self._schedule_release()

    def _schedule_release(self) -> None:
        if not self._release_scheduled:
            self._release_scheduled = True
            asyncio.get_running_loop().call_soon(self.release)

    # -- requests -------------------------------------------------------------------------

    async def _dispatch(
        self,
        session: Session,
        request: wire.Request,
        signed: SignedOrder | None,
        received_ns: int,
    ) -> None:
        match request:
            case wire.PlaceRequest():
                assert signed is not None
                await self._place(session, request, signed, received_ns)
            case wire.AmendRequest():
                assert signed is not None
                await self._amend(session, request, signed, received_ns)
            case wire.CancelRequest():
                await self._cancel(session, request, received_ns)
            case wire.CancelAllRequest():
                await self._cancel_all(session, request, received_ns)
            case wire.ScheduleCancelRequest():
                await self._schedule_cancel(session, request, received_ns)
            case wire.SetLeverageRequest():
                await self._set_leverage(session, request)
            case wire.GetLeverageRequest():
                self._get_leverage(session, request)
            case wire.SubscribeRequest():
                self._subscribe(session, request)
            case wire.UnsubscribeRequest():
                self._unsubscribe(session, request)
            case wire.LoginRequest():
                self._login(session, request)

    async def _place(
        self, session: Session, request: wire.PlaceRequest, signed: SignedOrder, received: int
    ) -> None:
        client_id = _parse(wire.parse_client_id, request.client_id)
        seen = self.registry.by_hash(signed.order_hash)
        if seen is not None:
            if client_id is not None and seen.client_id == client_id and seen.ack:
                self._outbox.put((session,), seen.ack)  # the original ack: idempotent
                if seen.receipt:
                    self._outbox.put((session,), seen.receipt)  # and its receipt
                return
            raise ProtocolError(ErrorCode.REPLAYED, "this order was placed before")
        if self.registry.used(signed):
            raise ProtocolError(ErrorCode.REPLAYED, "an order with this nonce was placed before")
        order = signed.order
        self._check_account(order.trader, signed)
        record = OrderRecord(
            order_id=self.commands.next_order_id(),
            market=order.market,
            signed=signed,
            client_id=client_id,
            request_id=request.id,
            origin=session,
        )
        command = NewOrder(
            market=order.market,
            order_id=record.order_id,
            account=order.trader,
            side=order.side,
            price=order.limit_price,
            size=order.size,
            tif=order.time_in_force,
            client_id=client_id,
            reduce_only=order.reduce_only,
            expiry=self._leaves_book_at(order.expiry),
            payload=verified_payload(signed, self.domain),
            trigger_price=order.trigger_price,
            trigger=order.trigger_direction,
        )
        outcome = self._took(await self.commands.place(command, record), received)
        if outcome.rejection is not None:
            self.registry.discard(record)
            raise _rejected(outcome.rejection.value)
        if not outcome.applied:
            # durable, not yet applied: answered now with what is known; the engine's
            # accept replaces this ack for retries but is not sent again
            record.origin = None
            record.ack = encode_frame(
                wire.Placed(
                    id=request.id,
                    seq=0,
                    market=order.market,
                    order_id=record.order_id,
                    order_hash=wire.hex0x(signed.order_hash),
                    size=order.size,
                    client_id=client_id,
                    applied=False,
                )
            )
            self._outbox.put((session,), record.ack)
        elif self.receipts is not None:
            self.receipts.expect(outcome.seq, session, signed.order_hash, record, outcome.entry)

    async def _amend(
        self, session: Session, request: wire.AmendRequest, signed: SignedOrder, received: int
    ) -> None:
        record = self._open_order(_parse(wire.parse_order_hash, request.order_hash))
        new, old = signed.order, record.signed.order
        if new.trader != old.trader:
            raise ProtocolError(ErrorCode.FORBIDDEN, "the order is another trader's")
        if (new.market, new.is_buy, new.margin_mode, new.time_in_force) != (
            old.market,
            old.is_buy,
            old.margin_mode,
            old.time_in_force,
        ) or (new.reduce_only, new.expiry, new.trigger_price, new.trigger_direction) != (
            old.reduce_only,
            old.expiry,
            old.trigger_price,
            old.trigger_direction,
        ):
            raise ProtocolError(
                ErrorCode.MALFORMED, "an amend changes only limitPrice, size, maxFeePpm, nonce"
            )
        reused = self.registry.used(signed) and new.nonce != old.nonce
        if reused or self.registry.by_hash(signed.order_hash) is not None:
            raise ProtocolError(ErrorCode.REPLAYED, "the replacing order was placed before")
        self._check_account(new.trader, signed)
        command = Amend(
            market=record.market,
            order_id=record.order_id,
            price=new.limit_price,
            size=new.size,
            payload=verified_payload(signed, self.domain),
        )
        outcome = self._took(await self.commands.submit(command, signed), received)
        if outcome.rejection is not None:
            raise _rejected(outcome.rejection.value)
        if self.receipts is not None and outcome.applied:
            self.receipts.expect(outcome.seq, session, signed.order_hash, record, outcome.entry)
        frame = wire.Amended(
            id=request.id,
            seq=outcome.seq,
            applied=outcome.applied,
            market=record.market,
            order_id=record.order_id,
            order_hash=wire.hex0x(signed.order_hash),
            receipt=self.receipts is not None,
        )
        self._outbox.put((session,), encode_frame(frame))

    async def _cancel(self, session: Session, request: wire.CancelRequest, received: int) -> None:
        cancel = _parse(wire.WireCancel.to_cancel, request.cancel)
        signature = _signature(request.signature)
        if cancel.expiry * _MS <= self._clock.now():
            raise ProtocolError(ErrorCode.EXPIRED, "cancel expired")
        try:
            verify_cancel(cancel, signature, self.domain)
        except InvalidSignatureError as error:
            raise ProtocolError(ErrorCode.BAD_SIGNATURE, str(error)) from None
        record = self._open_order(cancel.order_hash)
        if record.signed.order.trader != cancel.trader:
            raise ProtocolError(ErrorCode.FORBIDDEN, "the order is another trader's")
        self._take_account_token(cancel.trader)
        outcome = await self.commands.submit(Cancel(record.market, record.order_id))
        self._ack(session, request.id, self._took(outcome, received))

    async def _cancel_all(
        self, session: Session, request: wire.CancelAllRequest, received: int
    ) -> None:
        trader = self._logged_in(session)
        command: Command
        if request.market is None:
            command = CancelAccount(trader)
        else:
            command = CancelAll(self._market(request.market), trader)
        self._take_account_token(trader)
        outcome = self._took(await self.commands.submit(command), received)
        self._ack(session, request.id, outcome)

    async def _schedule_cancel(
        self, session: Session, request: wire.ScheduleCancelRequest, received: int
    ) -> None:
        trader = self._logged_in(session)
        if request.timeout_ms < 0:
            raise ProtocolError(ErrorCode.MALFORMED, "timeoutMs must not be negative")
        deadline = request.timeout_ms and self._clock.now() + request.timeout_ms
        self._take_account_token(trader)
        outcome = self._took(await self.commands.submit(SetDeadMan(trader, deadline)), received)
        if outcome.rejection is not None:
            raise _rejected(outcome.rejection.value)
        self._ack(session, request.id, outcome)

    async def _set_leverage(self, session: Session, request: wire.SetLeverageRequest) -> None:
        trader = self._logged_in(session)
        market = self._market(request.market)
        try:
            leverage = parse_leverage(request.leverage)
        except LeverageError as error:
            raise ProtocolError(ErrorCode.INVALID_LEVERAGE, str(error)) from None
        self._take_account_token(trader)
        if self._share_leverage is None:
            setting = self.risk.set_leverage(trader, market, leverage)
        else:
            # cluster mode: durable for every gateway before the answer (or ``unavailable``,
            # nothing changed); the share stores it here too, as checked before the wait
            refusal = self.risk.leverage_refusal(trader, market, leverage)
            if refusal is not None:
                raise ProtocolError(refusal.code, refusal.message)
            await self._share_leverage(trader, market, leverage)
            setting = self.risk.leverage(trader, market)
        self._send_leverage(session, request.id, setting)

    def _get_leverage(self, session: Session, request: wire.GetLeverageRequest) -> None:
        trader = self._logged_in(session)
        market = self._market(request.market)
        self._send_leverage(session, request.id, self.risk.leverage(trader, market))

    def _send_leverage(
        self, session: Session, request_id: int | None, setting: LeverageSetting | Refusal
    ) -> None:
        if isinstance(setting, Refusal):
            raise ProtocolError(setting.code, setting.message)
        frame = wire.Leverage(
            id=request_id,
            market=setting.market,
            leverage=str(setting.leverage),
            max_leverage=str(setting.max_leverage),
            chosen=setting.chosen,
        )
        self._outbox.put((session,), encode_frame(frame))

    def _subscribe(self, session: Session, request: wire.SubscribeRequest) -> None:
        channel = request.channel
        trader = self._logged_in(session) if channel is Channel.ACCOUNT else None
        market = None if trader is not None else self._market(request.market)
        after = None if trader is None else self._resume_point(trader, request.after_seq)
        subscribers = self._subscribers(channel, market, trader)

        def join() -> list[bytes]:
            # at release time: the snapshot (or the resumed events) that follows holds
            # exactly the durable state, and later frames go to the new subscriber
            subscribers.add(session)
            session.subscriptions.add((channel, market))
            if trader is None:
                return [
                    encode_frame(wire.Subscribed(id=request.id, channel=channel, market=market))
                ]
            last = self.accounts.last_seq(trader)  # every event is committed by now
            frame = wire.Subscribed(id=request.id, channel=channel, seq=last)
            frames = [encode_frame(frame)]
            if after is not None:  # at most a turn's events beyond MAX_RESUME_EVENTS
                frames += [data for _, data in self.accounts.events(trader, after, last - after)]
            return frames

        self._outbox.put((session,), join)
        if market is not None and channel is Channel.BOOK:
            self._outbox.put((session,), lambda: encode_frame(self.feeds.snapshot(market)))
        if trader is not None:
            state = self.feeds.account_state(trader)
            if state is not None:
                self._outbox.put((session,), encode_frame(state))

    def _resume_point(self, trader: Address, after: int | None) -> int | None:
        """Where an account subscription resumes (None: from now on), or why it cannot."""
        if after is None:
            return None
        last = self.accounts.last_seq(trader)
        if not 0 <= after <= last:
            raise ProtocolError(
                ErrorCode.MALFORMED, f"afterSeq must be 0 to {last}, the account's last event"
            )
        if last - after > self._max_resume_events:
            raise ProtocolError(
                ErrorCode.RESUME_TOO_OLD,
                f"{last - after} events since afterSeq {after}, more than"
                f" {self._max_resume_events}:"
                f" read them from the HTTP API's GET /accounts/{trader}/events?after={after},"
                " then resume",
            )
        return after

    def _unsubscribe(self, session: Session, request: wire.UnsubscribeRequest) -> None:
        channel = request.channel
        market = None if channel is Channel.ACCOUNT else self._market(request.market)
        self._subscribers(channel, market, session.trader).discard(session)
        session.subscriptions.discard((channel, market))
        self._outbox.put((session,), encode_frame(wire.Ack(id=request.id, seq=self.commands.seq)))

    def _login(self, session: Session, request: wire.LoginRequest) -> None:
        login = _parse(wire.WireLogin.to_login, request.login)
        trader = self._logins.verify(login, _signature(request.signature), self._now_s())
        if session.trader is not None and session.trader != trader:
            raise ProtocolError(ErrorCode.FORBIDDEN, f"this connection is {session.trader}'s")
        session.trader = trader
        session.login_expiry_s = login.expiry
        session.cancel_on_disconnect = request.cancel_on_disconnect
        frame = wire.LoggedIn(id=request.id, trader=trader, expiry=login.expiry)
        self._outbox.put((session,), encode_frame(frame))

    # -- helpers --------------------------------------------------------------------------

    async def _verify_orders(
        self, requests: Sequence[wire.Request], admitted: Sequence[bool]
    ) -> list[SignedOrder | ProtocolError | None]:
        """Per request: its verified order (place, amend), why it is refused, or None."""
        results: list[SignedOrder | ProtocolError | None] = [None] * len(requests)
        todo: list[Unverified] = []
        where: list[int] = []
        for i, request in enumerate(requests):
            if admitted[i] and isinstance(request, wire.PlaceRequest | wire.AmendRequest):
                try:
                    todo.append(self._unverified(request.order, request.signature))
                    where.append(i)
                except ProtocolError as error:
                    results[i] = error
        if todo:
            for i, verified in zip(where, await self._verifier.verify(todo), strict=True):
                results[i] = verified or ProtocolError(
                    ErrorCode.BAD_SIGNATURE, "signature is not by the order's trader"
                )
        return results

    def _unverified(self, wire_order: wire.WireOrder, signature: str) -> Unverified:
        order = _parse(wire.WireOrder.to_order, wire_order)
        self._market(order.market)
        if self._leaves_book_at(order.expiry) <= self._clock.now():
            raise ProtocolError(
                ErrorCode.EXPIRED,
                f"order expired or expires within {SETTLE_MARGIN_S} s, too soon to settle",
            )
        return order, _signature(signature)

    def _leaves_book_at(self, expiry: int) -> int:
        """The engine time (wall clock, ms) at which an order signed to expire at ``expiry``
        (chain seconds) leaves the book: ``SETTLE_MARGIN_S`` before the chain's clock reaches
        it. Where the chain runs ahead of the wall clock, that is earlier by as much; the
        engine command carries the result, so the journal replays it unchanged."""
        return (expiry - SETTLE_MARGIN_S) * _MS - self.risk.chain_ahead()

    def _check_account(self, trader: Address, signed: SignedOrder) -> None:
        self._take_account_token(trader)
        refusal = self.risk.check_order(signed)
        if refusal is not None:
            raise ProtocolError(refusal.code, refusal.message)

    def _take_account_token(self, trader: Address) -> None:
        if not self._accounts.take(trader, time.monotonic()):
            raise ProtocolError(ErrorCode.RATE_LIMITED, f"too many requests for {trader}")

    def _took(self, outcome: Outcome, received_ns: int) -> Outcome:
        """``outcome`` of a command received at ``received_ns``, its fills' latency noted."""
        if outcome.filled:
            self._fills_received.append(received_ns)
        return outcome

    def _open_order(self, order_hash: OrderHash) -> OrderRecord:
        record = self.registry.open_by_hash(order_hash)
        if record is None:
            raise ProtocolError(ErrorCode.UNKNOWN_ORDER, "no open order with this hash")
        return record

    def _market(self, market: int | None) -> MarketId:
        if market is None:
            raise ProtocolError(ErrorCode.MALFORMED, "market is required")
        if market not in self.engine.markets:
            raise ProtocolError(ErrorCode.UNKNOWN_MARKET, f"no market {market}")
        return MarketId(market)

    def _logged_in(self, session: Session) -> Address:
        trader = session.logged_in(self._now_s())
        if trader is None:
            raise ProtocolError(ErrorCode.NOT_LOGGED_IN, "log in first")
        return trader

    def _subscribers(
        self, channel: Channel, market: MarketId | None, trader: Address | None
    ) -> set[Session]:
        feeds = self.feeds
        if channel is Channel.ACCOUNT:
            assert trader is not None
            return feeds.account_subscribers.setdefault(trader, set())
        assert market is not None
        by_market = feeds.book_subscribers if channel is Channel.BOOK else feeds.trade_subscribers
        return by_market[market]

    def _ack(self, session: Session, request_id: int | None, outcome: Outcome) -> None:
        frame = wire.Ack(
            id=request_id, seq=outcome.seq, cancelled=outcome.cancelled, applied=outcome.applied
        )
        self._outbox.put((session,), encode_frame(frame))

    def _refuse(self, session: Session, error: ProtocolError, request_id: int | None) -> None:
        log.info("refused request %s: %s %s", request_id, error.code.value, error.message)
        self.refusals[error.code.value] += 1
        frame = wire.Error(
            id=request_id, code=error.code, message=error.message, reason=error.reason
        )
        self._outbox.put((session,), encode_frame(frame))

    def _now_s(self) -> int:
        return self._clock.now() // _MS


def _parse(parse: Callable[[T], R], value: T) -> R:
    """``parse(value)``; a ValueError (bad field) becomes a ``malformed`` error."""
    try:
        return parse(value)
    except ValueError as error:
        raise ProtocolError(ErrorCode.MALFORMED, str(error)) from None


def _signature(text: str) -> Signature:
    try:
        return wire.parse_signature(text)
    except InvalidSignatureError as error:  # well-formed hex, but not an accepted signature
        raise ProtocolError(ErrorCode.BAD_SIGNATURE, str(error)) from None
    except ValueError as error:
        raise ProtocolError(ErrorCode.MALFORMED, str(error)) from None


def _rejected(reason: str) -> ProtocolError:
    return ProtocolError(ErrorCode.REJECTED, f"the engine refused: {reason}", reason)
