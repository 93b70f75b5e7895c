"""Signed orders through the gateway on loopback: accepted orders per second, fill latency.

The gateway (signers recovered in ``--verify-workers`` processes or on its loop, no journal
unless asked) runs in this process; clients run in ``--client-processes`` other processes, each with
``--connections`` WebSocket connections. Orders are signed (coincurve) and encoded before
timing: signing is the client's cost.

* Throughput: every connection sends its frames (``--batch`` orders per frame) as fast as
  the socket takes them; orders/s is accepted orders over the time from the first send to
  the last ack. Half the orders cross, so the engine also matches.
* Latency: one connection sends single-order frames at ``--rate`` orders/s; each is an IOC
  buy against deep resting asks, so each trades. Latency is the gateway's own figure: from
  the frame's arrival (``recv`` returned) to its fill frames written to the sockets.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing
import os
import random
import sys
import time
from collections.abc import Sequence
from pathlib import Path

from websockets.asyncio.client import connect

from perpdex.bench.eip712 import BENCH_DOMAIN
from perpdex.bench.engine import new_journal, percentile
from perpdex.core.eip712 import FeePpm, Nonce, Order, UnixTime, sign_order
from perpdex.core.signing import SigningKey
from perpdex.core.types import Address, MarginMode, MarketId, Price, Size, TimeInForce
from perpdex.engine.clock import WallClock
from perpdex.engine.config import MarketConfig
from perpdex.engine.engine import Engine
from perpdex.engine.events import EventBus
from perpdex.engine.sequencer import Sequencer
from perpdex.gateway import protocol as wire
from perpdex.gateway.limits import Limits
from perpdex.gateway.receipts import ReceiptKey, make_signer
from perpdex.gateway.risk import AllowAll
from perpdex.gateway.server import GatewayServer
from perpdex.gateway.service import Gateway
from perpdex.gateway.verify import make_verifier
from perpdex.receipts import receipt_domain

MARKET = MarketId(0)
MID = 100_000
BENCH_RECEIPT_DOMAIN = receipt_domain(
    BENCH_DOMAIN.chain_id, Address("0xe7f1725E7734CE288F8367e1Bb143E90bb3F0512")
)
"""Receipts are signed in the Checkpoints contract's domain (anvil's second contract)."""
UNLIMITED = Limits(connection_rate=1e9, connection_burst=1e9, account_rate=1e9, account_burst=1e9)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--orders", type=int, default=60_000, help="throughput phase orders")
    parser.add_argument("--connections", type=int, default=4, help="per client process")
    parser.add_argument("--client-processes", type=int, default=1)
    parser.add_argument("--batch", type=int, default=50, help="orders per frame (throughput)")
    parser.add_argument("--traders", type=int, default=100)
    parser.add_argument(
        "--verify-workers", type=int, default=1, help="signature processes (0: on the loop)"
    )
    parser.add_argument("--rate", type=int, default=5_000, help="latency phase orders/s")
    parser.add_argument("--latency-orders", type=int, default=10_000)
    parser.add_argument(
        "--journal", type=Path, help="journal to this new file; an existing file is refused"
    )
    parser.add_argument(
        "--receipts",
        choices=("off", "worker", "loop"),
        default="off",
        help="sign each accepted order's receipt (needs --journal) in a worker process or on"
        " the loop (default off)",
    )
    parser.add_argument("--seed", type=int, default=5)


def run(args: argparse.Namespace) -> int:
    if args.receipts != "off" and args.journal is None:
        print("error: receipts name chain heads: --receipts needs --journal", file=sys.stderr)
        return 2
    try:
        figures = asyncio.run(_bench(args))
    except FileExistsError as error:  # --journal names an existing file
        print(f"error: {error}", file=sys.stderr)
        return 1
    print(json.dumps(figures))
    return 0


async def _bench(args: argparse.Namespace) -> dict[str, object]:
    journal = None if args.journal is None else new_journal(args.journal)  # fails first
    rng = random.Random(args.seed)
    keys = [SigningKey(rng.randbytes(32)) for _ in range(args.traders)]
    nonces = iter(range(1, 1 << 62))
    clients = args.client_processes * args.connections
    per_connection = args.orders // clients
    throughput_frames = [
        _frames(
            [_crossing_order(rng, keys, next(nonces)) for _ in range(per_connection)], args.batch
        )
        for _ in range(clients)
    ]
    asks = [_resting_ask(keys[0], next(nonces)) for _ in range(args.latency_orders // 100 + 1)]
    takers = [_ioc_buy(rng, keys[1:], next(nonces)) for _ in range(args.latency_orders)]

    bus = EventBus()
    sequencer = Sequencer(Engine([MarketConfig(MARKET)], bus), WallClock(), journal)
    verifier = make_verifier(BENCH_DOMAIN, args.verify_workers)
    signer = (
        None
        if args.receipts == "off"
        else make_signer(
            ReceiptKey(keys[0], BENCH_RECEIPT_DOMAIN), worker=args.receipts == "worker"
        )
    )
    gateway = Gateway(
        sequencer,
        bus,
        BENCH_DOMAIN,
        risk=AllowAll(),
        limits=UNLIMITED,
        verifier=verifier,
        receipts=signer,
    )
    try:
        async with GatewayServer(gateway) as server:
            url = f"ws://127.0.0.1:{server.port}"
            loop_start = os.times()
            accepted, errors, elapsed, client_cpu = await _throughput(
                url, throughput_frames, args.client_processes
            )
            loop_cpu = _cpu_since(loop_start)
            book_before = gateway.feeds.book_seq[MARKET]
            await _run_clients(url, [[_frames(asks, 100)]], expected=len(asks))
            gateway.fill_latencies_ns.clear()
            cpu_start = os.times()
            await _run_clients(url, [[_frames(takers, 1)]], expected=len(takers), rate=args.rate)
            latencies = sorted(gateway.fill_latencies_ns)
    finally:
        verifier.close()
        gateway.close_receipts()
        if journal is not None:
            journal.close()
    return {
        "orders": clients * per_connection,
        "accepted": accepted,
        "errors": errors,
        "orders_per_s": round(accepted / elapsed),
        "elapsed_s": round(elapsed, 3),
        "connections": clients,
        "batch": args.batch,
        "verify_workers": args.verify_workers,
        "book_updates": book_before,
        "latency_rate": args.rate,
        "latency_fills": len(latencies),
        "fill_p50_us": percentile(latencies, 0.50) / 1000,
        "fill_p99_us": percentile(latencies, 0.99) / 1000,
        "fill_max_us": latencies[-1] / 1000,
        "loop_cpu_us_per_order": round(loop_cpu / accepted * 1e6, 1),
        "client_cpu_us_per_order": round(client_cpu / accepted * 1e6, 1),
        "gateway_cpu_s_latency_phase": round(_cpu_since(cpu_start), 3),
        "journal": None if args.journal is None else str(args.journal),
        "receipts": args.receipts,
        "nproc": os.cpu_count(),
    }


async def _throughput(
    url: str, frames: list[list[str]], processes: int
) -> tuple[int, int, float, float]:
    """Accepted orders, errors, seconds from first send to last answer, client CPU seconds."""
    shares = [frames[i::processes] for i in range(processes)]
    per_connection = sum(frame.count('"op":"place"') for frame in frames[0])
    per_process = await _run_clients(url, shares, expected=per_connection)
    results = [r for connections, _ in per_process for r in connections]
    accepted = sum(r[0] for r in results)
    errors = sum(r[1] for r in results)
    elapsed = max(r[3] for r in results) - min(r[2] for r in results)
    return accepted, errors, elapsed, sum(cpu for _, cpu in per_process)


def _cpu_since(start: os.times_result) -> float:
    now = os.times()
    return now.user + now.system - start.user - start.system


Connection = tuple[int, int, float, float]  # answers placed, errors, first send, last answer


async def _run_clients(
    url: str, shares: list[list[list[str]]], *, expected: int, rate: int = 0
) -> list[tuple[list[Connection], float]]:
    """One process per share, each with one connection per frame list in it; per process,
    its connections' figures and its CPU seconds."""
    context = multiprocessing.get_context("spawn")
    with context.Pool(len(shares)) as pool:
        pending = pool.starmap_async(
            _client_process, [(url, share, expected, rate) for share in shares]
        )
        return await asyncio.to_thread(pending.get)


def _client_process(
    url: str, share: list[list[str]], expected: int, rate: int
) -> tuple[list[Connection], float]:
    async def all_connections() -> list[Connection]:
        return list(
            await asyncio.gather(*(_connection(url, frames, expected, rate) for frames in share))
        )

    start = time.process_time()
    connections = asyncio.run(all_connections())
    return connections, time.process_time() - start


async def _connection(url: str, frames: Sequence[str], expected: int, rate: int) -> Connection:
    """Send ``frames`` (paced at ``rate`` frames/s if set); wait for ``expected`` answers."""
    async with connect(url, max_size=None, compression=None) as ws:
        counts = [0, 0]

        async def read() -> None:
            while counts[0] + counts[1] < expected:
                message = await ws.recv()
                assert isinstance(message, str)
                counts[0] += message.count('"type":"placed"')
                counts[1] += message.count('"type":"error"')

        reader = asyncio.create_task(read())
        start = time.monotonic()
        for i, frame in enumerate(frames):
            if rate and i % 5 == 0:  # bursts of 5 keep the pacing within the loop's timer grain
                await asyncio.sleep(max(0.0, start + i / rate - time.monotonic()))
            await ws.send(frame)
        await reader
        return counts[0], counts[1], start, time.monotonic()


def _frames(requests: list[wire.PlaceRequest], batch: int) -> list[str]:
    return [
        wire.encode_frame(requests[i : i + batch] if batch > 1 else requests[i]).decode()
        for i in range(0, len(requests), batch)
    ]


def _signed_place(
    key: SigningKey, nonce: int, is_buy: bool, price: int, tif: TimeInForce, size: int = 1
) -> wire.PlaceRequest:
    order = Order(
        trader=key.address,
        market=MARKET,
        is_buy=is_buy,
        size=Size(size),
        limit_price=Price(price),
        max_fee_ppm=FeePpm(500),
        margin_mode=MarginMode.CROSS,
        time_in_force=tif,
        reduce_only=False,
        expiry=UnixTime(int(time.time()) + 3600),
        nonce=Nonce(nonce),
    )
    signature = sign_order(order, key, BENCH_DOMAIN).signature
    return wire.PlaceRequest(
        order=wire.WireOrder.of(order), signature=wire.hex0x(signature.to_bytes())
    )


def _crossing_order(rng: random.Random, keys: list[SigningKey], nonce: int) -> wire.PlaceRequest:
    """A GTC at most 5 ticks from the middle, either side: about half of them trade."""
    is_buy = rng.random() < 0.5
    return _signed_place(
        rng.choice(keys), nonce, is_buy, MID + rng.randrange(-5, 6), TimeInForce.GTC
    )


def _resting_ask(key: SigningKey, nonce: int) -> wire.PlaceRequest:
    return _signed_place(key, nonce, False, 2 * MID, TimeInForce.GTC, size=100)


def _ioc_buy(rng: random.Random, keys: list[SigningKey], nonce: int) -> wire.PlaceRequest:
    return _signed_place(rng.choice(keys), nonce, True, 2 * MID, TimeInForce.IOC)
