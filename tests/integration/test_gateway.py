"""The gateway on loopback: real websockets clients, real coincurve signatures."""

from __future__ import annotations

import asyncio
import json
import time
import urllib.request
from typing import Any

from tests.integration.gateway_testing import (
    DOMAIN,
    MAKER,
    STRANGER,
    TAKER,
    error_of,
    login,
    next_frame,
    place,
    placed,
    running_gateway,
    signed,
    url,
)
from websockets.asyncio.client import ClientConnection, connect

from perpdex.core.eip712 import Cancel as SignedCancelTerms
from perpdex.core.eip712 import UnixTime, sign_cancel
from perpdex.gateway import protocol as wire
from perpdex.gateway.limits import Limits
from perpdex.gateway.protocol import ErrorCode
from perpdex.gateway.risk import Refusal


def test_orders_cross_and_every_stream_sees_it() -> None:
    async def scenario() -> None:
        async with (
            running_gateway() as server,
            connect(url(server)) as maker,
            connect(url(server)) as taker,
            connect(url(server)) as watcher,
        ):
            await login(maker, MAKER, 1)
            await maker.send('{"op":"subscribe","channel":"account","id":2}')
            assert isinstance(await next_frame(maker), wire.Subscribed)
            await watcher.send(
                '[{"op":"subscribe","channel":"book","market":0},'
                '{"op":"subscribe","channel":"trades","market":0}]'
            )
            assert isinstance(await next_frame(watcher), wire.Subscribed)
            snapshot = await next_frame(watcher)
            assert isinstance(snapshot, wire.BookSnapshot)
            assert (snapshot.bids, snapshot.asks) == ([], [])
            assert isinstance(await next_frame(watcher), wire.Subscribed)

            ask = signed(MAKER, 1, is_buy=False, price=1000, size=3000)
            await maker.send(place(ask, id=10).decode())
            placed = await next_frame(maker)
            assert isinstance(placed, wire.Placed)
            assert (placed.id, placed.size) == (10, 3000)
            assert placed.order_hash == wire.hex0x(ask.order_hash)

            bid = signed(TAKER, 1, is_buy=True, price=1010, size=2000)
            await taker.send(place(bid, id=11).decode())
            taker_ack = await next_frame(taker)
            assert isinstance(taker_ack, wire.Placed)

            fill = await next_frame(maker)
            assert isinstance(fill, wire.Fill)
            assert (fill.price, fill.size, fill.maker, fill.is_buy) == (
                1000,
                2000,
                True,
                False,
            )
            assert fill.order_hash == placed.order_hash

            first = await next_frame(watcher)
            trade = await next_frame(watcher)  # during the command, before its update
            second = await next_frame(watcher)
            assert isinstance(first, wire.BookUpdate)
            assert isinstance(second, wire.BookUpdate)
            assert (first.seq, second.seq) == (snapshot.seq + 1, snapshot.seq + 2)
            assert first.asks == [(1000, 3000)] and second.asks == [(1000, 1000)]
            assert isinstance(trade, wire.Trade)
            assert (trade.price, trade.size, trade.taker_is_buy) == (1000, 2000, True)

    asyncio.run(scenario())


def test_client_order_id_makes_place_idempotent_and_other_replays_are_refused() -> None:
    async def scenario() -> None:
        async with running_gateway() as server, connect(url(server)) as ws:
            bid = signed(TAKER, 7, is_buy=True)
            await ws.send(place(bid, id=1, client_id="a").decode())
            first = await next_frame(ws)
            await ws.send(place(bid, id=2, client_id="a").decode())
            again = await next_frame(ws)
            assert isinstance(first, wire.Placed) and again == first  # the original ack
            replay = await error_of(ws, place(bid, id=3, client_id="b"))
            assert (replay.code, replay.id) == (ErrorCode.REPLAYED, 3)
            assert (await error_of(ws, place(bid))).code is ErrorCode.REPLAYED

    asyncio.run(scenario())


class RefuseAll:
    def check_order(self, order: object) -> Refusal | None:
        return Refusal(ErrorCode.INSUFFICIENT_MARGIN, "equity 0 below initial margin 100")

    def reserve(self, order: object, size: int) -> None:
        raise AssertionError("never reserves")

    def release(self, order: object, size: int) -> None:
        raise AssertionError("never releases")

    def account(self, trader: object) -> None:
        return None

    def chain_ahead(self) -> int:
        return 0


def test_every_kind_of_bad_input_gets_a_typed_error_and_the_connection_stays_up() -> None:
    async def scenario() -> None:
        async with running_gateway(risk=RefuseAll()) as server, connect(url(server)) as ws:
            ok = signed(TAKER, 1, is_buy=True)
            wrong_signer = wire.PlaceRequest(
                order=wire.WireOrder.of(ok.order),
                signature=wire.hex0x(signed(STRANGER, 1, is_buy=True).signature.to_bytes()),
            )
            cases: list[tuple[bytes | str, ErrorCode]] = [
                ("{not json", ErrorCode.MALFORMED),
                ('{"op":"launch"}', ErrorCode.MALFORMED),
                ('{"op":"place","id":5}', ErrorCode.MALFORMED),
                ('{"op":"cancel_all","market":"zero"}', ErrorCode.MALFORMED),
                ("x" * (64 * 1024 + 1), ErrorCode.TOO_LARGE),
                ("[" + ",".join(['{"op":"cancel_all"}'] * 101) + "]", ErrorCode.TOO_LARGE),
                (wire.encode_frame(wrong_signer), ErrorCode.BAD_SIGNATURE),
                (place(signed(TAKER, 2, is_buy=True, expiry=1)), ErrorCode.EXPIRED),
                (place(signed(TAKER, 3, is_buy=True, market=9)), ErrorCode.UNKNOWN_MARKET),
                (place(ok), ErrorCode.INSUFFICIENT_MARGIN),
                ('{"op":"cancel_all"}', ErrorCode.NOT_LOGGED_IN),
                ('{"op":"subscribe","channel":"account"}', ErrorCode.NOT_LOGGED_IN),
                ('{"op":"subscribe","channel":"book","market":4}', ErrorCode.UNKNOWN_MARKET),
            ]
            for frame, code in cases:
                assert (await error_of(ws, frame)).code is code, frame
            malformed = await error_of(ws, '{"op":"place","id":5}')
            assert malformed.id == 5  # the id of a malformed request is still echoed
            await ws.send('{"op":"subscribe","channel":"book","market":1,"id":9}')
            assert isinstance(await next_frame(ws), wire.Subscribed)

    asyncio.run(scenario())


def test_an_empty_batch_is_answered_with_an_error_not_left_to_time_out() -> None:
    async def scenario() -> None:
        async with running_gateway() as server, connect(url(server)) as ws:
            error = await asyncio.wait_for(error_of(ws, "[]"), 5)  # was: no answer at all
            assert (error.code, error.id) == (ErrorCode.MALFORMED, None)
            assert "at least one request" in error.message
            await ws.send('[{"op":"subscribe","channel":"trades","market":1,"id":3}]')
            assert isinstance(await next_frame(ws), wire.Subscribed)  # still served

    asyncio.run(scenario())


def test_replayed_and_off_grid_orders_and_rate_limits() -> None:

    async def scenario() -> None:
        limits = Limits(connection_rate=1, connection_burst=3)
        async with running_gateway(limits=limits) as server, connect(url(server)) as ws:
            off_tick = await error_of(ws, place(signed(TAKER, 1, is_buy=True, price=1005)))
            assert (off_tick.code, off_tick.reason) == (ErrorCode.REJECTED, "bad_tick")
            await ws.send('[{"op":"cancel_all"},{"op":"cancel_all"},{"op":"cancel_all"}]')
            codes = [(await next_frame(ws)).code for _ in range(3)]  # type: ignore[union-attr]
            assert codes == [
                ErrorCode.NOT_LOGGED_IN,
                ErrorCode.NOT_LOGGED_IN,
                ErrorCode.RATE_LIMITED,
            ]
        async with running_gateway() as server, connect(url(server)) as ws:
            # a refused order may come back later; only accepted hashes are spent
            bid = signed(TAKER, 2, is_buy=True, price=1005)
            assert (await error_of(ws, place(bid))).code is ErrorCode.REJECTED

    asyncio.run(scenario())


def test_signed_cancel_amend_cancel_all_and_schedule_cancel() -> None:
    async def scenario() -> None:
        async with running_gateway() as server, connect(url(server)) as ws:
            await login(ws, MAKER, 2)
            await ws.send('{"op":"subscribe","channel":"account"}')
            assert isinstance(await next_frame(ws), wire.Subscribed)
            resting = [
                signed(MAKER, n, is_buy=False, price=2000 + 10 * n, size=2000) for n in range(3)
            ]
            for order in resting:
                await placed(ws, order)

            terms = SignedCancelTerms(
                MAKER.address, resting[0].order_hash, UnixTime(int(time.time()) + 60)
            )
            stolen = sign_cancel(
                SignedCancelTerms(STRANGER.address, terms.order_hash, terms.expiry),
                STRANGER,
                DOMAIN,
            )
            forbidden = wire.CancelRequest(
                cancel=wire.WireCancel.of(stolen.cancel),
                signature=wire.hex0x(stolen.signature.to_bytes()),
            )
            assert (await error_of(ws, wire.encode_frame(forbidden))).code is ErrorCode.FORBIDDEN
            mine = sign_cancel(terms, MAKER, DOMAIN)
            cancel = wire.CancelRequest(
                id=4,
                cancel=wire.WireCancel.of(terms),
                signature=wire.hex0x(mine.signature.to_bytes()),
            )
            await ws.send(wire.encode_frame(cancel).decode())
            update = await next_frame(ws)
            assert isinstance(update, wire.OrderUpdate)
            assert (update.status, update.reason) == (wire.OrderStatus.CANCELLED, "requested")
            assert isinstance(await next_frame(ws), wire.Ack)
            again = await error_of(ws, wire.encode_frame(cancel))
            assert again.code is ErrorCode.UNKNOWN_ORDER

            later = resting[1].order.expiry + 1
            smaller = signed(MAKER, 10, is_buy=False, price=2010, size=1000, expiry=later)
            amend = wire.AmendRequest(
                order_hash=wire.hex0x(resting[1].order_hash),
                order=wire.WireOrder.of(smaller.order),
                signature=wire.hex0x(smaller.signature.to_bytes()),
            )
            assert (await error_of(ws, wire.encode_frame(amend))).code is ErrorCode.MALFORMED
            smaller = signed(
                MAKER, 10, is_buy=False, price=2010, size=1000, expiry=resting[1].order.expiry
            )
            amend.order = wire.WireOrder.of(smaller.order)
            amend.signature = wire.hex0x(smaller.signature.to_bytes())
            await ws.send(wire.encode_frame(amend).decode())
            amended = await next_frame(ws)
            assert isinstance(amended, wire.Amended)
            assert amended.order_hash == wire.hex0x(smaller.order_hash)

            await ws.send('{"op":"cancel_all","market":0}')
            updates = [await next_frame(ws) for _ in range(2)]
            assert {u.order_hash for u in updates[:2]} == {  # type: ignore[union-attr]
                wire.hex0x(smaller.order_hash),
                wire.hex0x(resting[2].order_hash),
            }
            assert isinstance(await next_frame(ws), wire.Ack)

            await placed(ws, signed(MAKER, 20, is_buy=True))
            await ws.send('{"op":"schedule_cancel","timeoutMs":100}')
            assert isinstance(await next_frame(ws), wire.Ack)
            fired = await asyncio.wait_for(next_frame(ws), 2)
            assert isinstance(fired, wire.OrderUpdate) and fired.reason == "dead_man"

    asyncio.run(scenario())


def test_cancel_on_disconnect() -> None:
    async def scenario() -> None:
        async with running_gateway() as server:
            async with connect(url(server)) as ws:
                await login(ws, MAKER, 3, cancel_on_disconnect=True)
                await placed(ws, signed(MAKER, 1, is_buy=True))
            await asyncio.sleep(0.05)
            assert server.gateway.registry.open_orders() == []

    asyncio.run(scenario())


def test_oversize_socket_frame_closes_only_that_connection() -> None:
    async def scenario() -> None:
        async with running_gateway() as server:
            async with connect(url(server), max_size=None) as ws:
                await ws.send("x" * (2 * 1024 * 1024))
                await ws.wait_closed()
                assert ws.close_code == 1009
            async with connect(url(server)) as ws:
                await ws.send('{"op":"subscribe","channel":"trades","market":0}')
                assert isinstance(await next_frame(ws), wire.Subscribed)

    asyncio.run(scenario())


def test_a_plain_http_request_is_pointed_at_the_http_api() -> None:
    """The WebSocket port serves no HTTP reads: any other request is a 426 naming the
    node's HTTP API (``web_url``), which is how the SDK finds it."""

    def get(port: int, path: str) -> tuple[int, Any, str | None]:
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}{path}")
        except urllib.error.HTTPError as error:
            return error.code, json.loads(error.read()), error.headers.get("Upgrade")
        raise AssertionError(f"{path} was answered")

    async def scenario() -> None:
        async with running_gateway() as server:
            for path in ("/", "/markets", "/book/0"):
                status, body, upgrade = await asyncio.to_thread(get, server.port, path)
                assert (status, body["code"], body["webUrl"], upgrade) == (
                    426, "use_http_api", None, "websocket"
                )  # fmt: skip
            server.web_url = "http://127.0.0.1:8766"
            status, body, _ = await asyncio.to_thread(get, server.port, "/markets")
            assert (status, body["webUrl"], body["httpPort"]) == (426, server.web_url, 8766)
            assert server.web_url in body["message"]

    asyncio.run(scenario())


def test_an_account_resume_gets_what_it_missed_or_a_typed_error_never_a_silent_gap() -> None:
    async def subscribe(ws: ClientConnection, after: int) -> list[wire.Frame]:
        await ws.send(f'{{"op":"subscribe","channel":"account","afterSeq":{after},"id":7}}')
        frames = [await next_frame(ws)]
        while isinstance(frames[-1], wire.Subscribed | wire.Fill):
            try:
                frames.append(await asyncio.wait_for(next_frame(ws), 0.3))
            except TimeoutError:
                break
        return frames

    async def scenario() -> None:
        async with (
            running_gateway(max_resume_events=2) as server,
            connect(url(server)) as maker,
            connect(url(server)) as taker,
        ):
            await login(maker, MAKER, 1)
            for nonce in range(1, 5):  # four fills of the maker, nobody subscribed
                for order in (
                    signed(MAKER, nonce, is_buy=False),
                    signed(TAKER, nonce, is_buy=True),
                ):
                    await taker.send(place(order).decode())
                    assert isinstance(await next_frame(taker), wire.Placed)

            ahead = await error_of(maker, '{"op":"subscribe","channel":"account","afterSeq":5}')
            assert ahead.code is ErrorCode.MALFORMED
            too_old = await error_of(maker, '{"op":"subscribe","channel":"account","afterSeq":1}')
            assert too_old.code is ErrorCode.RESUME_TOO_OLD
            assert f"/accounts/{MAKER.address}/events?after=1" in too_old.message

            subscribed, *missed = await subscribe(maker, 2)
            assert isinstance(subscribed, wire.Subscribed) and subscribed.seq == 4
            assert [(type(f), f.account_seq) for f in missed] == [(wire.Fill, 3), (wire.Fill, 4)]
            await taker.send(place(signed(MAKER, 9, is_buy=False)).decode())  # a fifth fill: live
            await next_frame(taker)
            await taker.send(place(signed(TAKER, 9, is_buy=True)).decode())
            await next_frame(taker)
            live = await next_frame(maker)
            assert isinstance(live, wire.Fill) and live.account_seq == 5

    asyncio.run(scenario())
