"""The whole cluster, crashed one service at a time.

``perpdex cluster up`` runs every service as its own OS process under its supervisor, on a
three-node nats-server cluster (every stream replicated three times) and a real anvil.
Makers and takers of the real SDK cross on a market of each engine shard, through both
gateways, while each engine shard, one gateway, settlement, risk, the keeper and one NATS
node are SIGKILLed in turn; after each kill the supervisor's restart shows in ``perpdex
cluster status`` (a new pid, one restart more) and in its log. Then:

1. no acknowledged order is lost: every order a client was told ``placed`` is in its
   shard's journal stream;
2. no fill is settled twice: the Exchange's ``Filled`` events name each (maker, taker)
   pair once, and only pairs the engines matched;
3. every engine fill is settled on chain or reported rejected (``PERPDEX_OUT``);
4. the position manager of cluster mode equals the contract's account and position views
   of every trader: the one the reader process serves (``/accounts/{trader}``, read while
   the cluster still runs, once settlement caught up), and one built from the chain's fold,
   the replicas' fills and the outcomes as the risk process builds it, which holds no
   pending fill.

Before the kills, what a user is told: the printed URLs, a deployment file naming the first
gateway and the API, and the gateways pointing plain HTTP at the reader (the SDK finds the
API from a gateway's URL alone).

While a gateway or a NATS node is down an order may be refused (``unavailable``, or the
connection drops): the client sends the same signed order again, through the other
gateway if its own is gone. That is allowed; an acknowledged order lost is not.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import time
import urllib.request
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

from tests.integration.cluster.cluster_testing import (
    Board,
    ClusterUp,
    stream_leader,
    wait_settled,
)
from tests.integration.cluster.gateway_testing import journaled

from perpdex.chain.anvil import Anvil
from perpdex.chain.deploy import bind
from perpdex.chain.deployment import Deployment, Role, load_deployment, write_deployment
from perpdex.chain.transact import connect as web3_connect
from perpdex.cli.up import fresh_deployment
from perpdex.cluster.nats_server import NatsCluster
from perpdex.cluster.streams import StreamLayout
from perpdex.core.types import OrderHash, TimeInForce
from perpdex.core.units import from_collateral_units, from_size_units
from perpdex.engine.commands import NewOrder
from perpdex.gateway.protocol import Placed
from perpdex.risk.from_chain import deployment_domain
from perpdex.sdk.batch import OrderSpec
from perpdex.sdk.client import Client
from perpdex.sdk.errors import SdkError
from perpdex.sdk.gateway_errors import (
    CommandUnavailableError,
    ConnectionLostError,
    GatewayUnavailableError,
    ReplayedError,
)
from perpdex.sdk.gateway_http import discover_http_url
from perpdex.settlement.payload import order_hash_of_payload

LAYOUT = StreamLayout(shards=2, replicas=3)  # what cluster up makes on three NATS nodes
MARKETS = (("BTC-PERP", "0.001", "100000"), ("ETH-PERP", "0.01", "2000"))  # shards 0 and 1
SERVICES = (
    "engine-0", "engine-1", "gateway-0", "gateway-1", "settlement", "risk", "keeper", "reader"
)  # fmt: skip
KILLED = ("engine-0", "engine-1", "gateway-0", "settlement", "risk", "keeper", "reader")
ROUNDS_BETWEEN_KILLS = 3
"""Rounds between two kills: the kills land mid-stream, and a service may still be starting
again when the next dies."""
ROUND_S = 0.5
"""A round starts at most this often: the stream stays a few orders a second, so that the
fills settle in the test's time (settlement's throughput is not what is tested here)."""
ORDER_WITHIN_S = 60.0
"""An order refused again and again for this long fails the test (the cluster is stuck)."""
SETTLED_WITHIN_S = 90.0
"""Settlement catches up with the engines' fills within this (and every view with it)."""
RETRYABLE = (CommandUnavailableError, ConnectionLostError, GatewayUnavailableError)


@dataclass
class Stream:
    """What the clients were told."""

    acknowledged: dict[OrderHash, int] = field(default_factory=dict)  # hash -> shard
    refused: int = 0  # attempts answered unavailable or cut off, sent again
    replayed: dict[OrderHash, int] = field(default_factory=dict)
    """Sent again after the answer was lost, and told the order was placed before."""
    rejected: list[str] = field(default_factory=list)  # any other final answer
    rounds: int = 0
    restarts: dict[str, int] = field(default_factory=dict)  # by service, at the end


async def place(route: list[Client], spec: OrderSpec, shard: int, stream: Stream) -> None:
    """One signed order through the first gateway of ``route``; while that refuses it
    (``unavailable``) or is gone, the same signed order through the next."""
    request, signed = route[0]._place_request(spec)
    deadline = time.monotonic() + ORDER_WITHIN_S
    attempt = 0
    while True:
        client = route[attempt % len(route)]
        try:
            await client._request(request, Placed)
        except RETRYABLE:
            stream.refused += 1
            assert time.monotonic() < deadline, f"{spec} refused for {ORDER_WITHIN_S} s"
            attempt += 1
            await asyncio.sleep(0.2)
            continue
        except ReplayedError:  # its first attempt was placed, the answer lost
            stream.replayed[signed.order_hash] = shard
            return
        except SdkError as error:
            stream.rejected.append(f"{type(error).__name__}: {error}")
            return
        stream.acknowledged[signed.order_hash] = shard
        return


async def trade(
    makers: list[Client], takers: list[Client], stream: Stream, done: asyncio.Event
) -> None:
    """Rounds until ``done``: on each market at once, the maker rests an order and the
    taker takes it (IOC); sides alternate so that positions stay small. Market i sends
    through gateway i first, and through the other while that refuses."""

    async def cross(market: int, maker_side: str, taker_side: str) -> None:
        symbol, size, price = MARKETS[market]
        route = [market, 1 - market]
        maker = OrderSpec(symbol, maker_side, size, price)
        await place([makers[i] for i in route], maker, market, stream)
        taker = OrderSpec(symbol, taker_side, size, price, time_in_force=TimeInForce.IOC)
        await place([takers[i] for i in route], taker, market, stream)

    while not done.is_set():
        sides = ("sell", "buy") if stream.rounds % 2 == 0 else ("buy", "sell")
        await asyncio.gather(
            *(cross(market, *sides) for market in range(len(MARKETS))), asyncio.sleep(ROUND_S)
        )
        stream.rounds += 1


async def rounds_pass(stream: Stream, count: int) -> None:
    """Until ``count`` more rounds were played."""
    wanted = stream.rounds + count
    deadline = time.monotonic() + count * 2 * ORDER_WITHIN_S
    while stream.rounds < wanted:
        assert time.monotonic() < deadline, f"the stream stalled at round {stream.rounds}"
        await asyncio.sleep(0.1)


def restarted(name: str, before: dict[str, object]) -> Callable[[Board], bool]:
    """The board shows ``name`` running again under a new pid, with one restart more."""

    def ready(board: Board) -> bool:
        row = board.get(name)
        return (
            row is not None
            and row["state"] == "running"
            and row["pid"] not in (None, before["pid"])
            and row["restarts"] == int(str(before["restarts"])) + 1
        )

    return ready


def serving(board: Board) -> bool:
    """Every service running and reporting itself (which it does once it serves)."""
    return all(
        name in board and board[name]["state"] == "running" and board[name]["host"]
        for name in SERVICES
    )


def test_every_service_killed_in_turn_mid_stream_loses_nothing(
    nats_three: NatsCluster, tmp_path: Path
) -> None:
    with Anvil(log_path=tmp_path / "anvil.log") as chain:
        deployment = fresh_deployment(chain.rpc_url)
        cluster = ClusterUp(
            nats_three.urls,
            deployment,
            write_deployment(deployment, tmp_path / "deployment.json"),
            tmp_path / "cluster",
        )
        try:
            board = cluster.until_board("every service serving", serving, 150)
            found_by_a_user(cluster)
            stream = asyncio.run(_crash_in_turn(cluster, nats_three, deployment, board, tmp_path))
        finally:
            cluster.stop()
        log = cluster.log.read_text()
        for name in KILLED:
            assert f"service {name} restarted (restart 1)" in log, log
        _assert_nothing_lost(deployment, nats_three.urls, stream)


async def _crash_in_turn(
    cluster: ClusterUp,
    nats: NatsCluster,
    deployment: Deployment,
    board: Board,
    tmp_path: Path,
) -> Stream:
    stream = Stream()
    done = asyncio.Event()

    def connected(role: Role, gateway: int) -> Client:
        key = deployment.wallet(role).private_key
        assert key is not None  # one nonce file per trader, shared by its two clients
        return Client.connect(
            cluster.gateway_url(gateway), key, deployment, state_dir=tmp_path / role
        )

    makers = [connected(Role.MAKER, 0), connected(Role.MAKER, 1)]
    takers = [connected(Role.TRADER, 0), connected(Role.TRADER, 1)]
    clients = [*makers, *takers]
    for client in clients:
        await client.__aenter__()
    try:
        for client in clients:
            await client.chain()  # the nonce floor, before the first signature
        trading = asyncio.create_task(trade(makers, takers, stream, done))
        await rounds_pass(stream, ROUNDS_BETWEEN_KILLS)
        for name in KILLED:
            before = board[name]
            os.kill(int(str(before["pid"])), signal.SIGKILL)
            board = await asyncio.to_thread(
                cluster.until_board, f"{name} restarted", restarted(name, before), 90
            )
            await rounds_pass(stream, ROUNDS_BETWEEN_KILLS)
        # the NATS node leading the command stream: the gateways' publishes wait for a new
        # leader (every stream keeps a majority of its three replicas)
        node = await stream_leader(nats.urls, LAYOUT.command_stream)
        nats.kill(node)
        await rounds_pass(stream, ROUNDS_BETWEEN_KILLS)
        await asyncio.to_thread(nats.restart, node)
        await rounds_pass(stream, ROUNDS_BETWEEN_KILLS)
        done.set()
        await trading
        # every killed service serves again (it reports itself); one restarted while a
        # NATS node was down may have exited once more and been restarted again
        board = await asyncio.to_thread(cluster.until_board, "every service back", serving, 150)
        stream.restarts = {name: int(str(board[name]["restarts"])) for name in SERVICES}
        assert all(stream.restarts[name] >= 1 for name in KILLED), stream.restarts
        await asyncio.to_thread(reader_agrees_with_chain, cluster, deployment)
    finally:
        done.set()
        for client in clients:
            await client.close()
    return stream


def found_by_a_user(cluster: ClusterUp) -> None:
    api = f"http://127.0.0.1:{cluster.http_port}"
    gateways = [cluster.gateway_url(0), cluster.gateway_url(1)]
    deadline = time.monotonic() + 10  # printed at the supervisor's next look at the board
    while "perpdex cluster running" not in (printed := cluster.log.read_text()):
        assert time.monotonic() < deadline, printed
        time.sleep(0.2)
    assert printed.index("starting 8 services") < printed.index("perpdex cluster running")
    assert ", ".join(gateways) in printed
    assert f"{api}/ (operator dashboard: {api}/dashboard)" in printed
    written = load_deployment(cluster.run_dir / "deployment.json")
    assert (written.gateway_url, written.web_url) == (gateways[0], api)
    assert [discover_http_url(url) for url in gateways] == [api, api]


def reader_agrees_with_chain(cluster: ClusterUp, deployment: Deployment) -> None:
    """The reader's view of each trader (collateral and position sizes, its position manager
    folded with the fills and outcomes it followed) equals the contract's, once settlement
    caught up."""
    exchange = bind(web3_connect(deployment.rpc_url), deployment).exchange
    deadline = time.monotonic() + SETTLED_WITHIN_S
    while True:
        differs = []
        for role in (Role.MAKER, Role.TRADER):
            trader = deployment.wallet(role).address
            try:
                view = get_json(f"http://127.0.0.1:{cluster.http_port}/accounts/{trader}")
            except OSError as error:  # the reader restarting: asked again
                differs.append(f"{role}: {error}")
                continue
            collateral, _, _ = exchange.functions.account(trader).call()
            sizes = {m.symbol: exchange.functions.position(trader, m.id).call()[0] for m in
                     deployment.markets}  # fmt: skip
            on_chain = (
                from_collateral_units(collateral),
                {m: from_size_units(size) for m, size in sizes.items() if size},
            )
            served = (
                Decimal(view["collateral"]),
                {p["market"]: Decimal(p["size"]) for p in view["positions"] if Decimal(p["size"])},
            )
            if served != on_chain:
                differs.append(f"{role}: reader {served}, chain {on_chain}")
        if not differs:
            return
        assert time.monotonic() < deadline, differs
        time.sleep(0.5)


def get_json(url: str) -> Any:
    with urllib.request.urlopen(url, timeout=10) as response:
        return json.loads(response.read())


def _assert_nothing_lost(deployment: Deployment, urls: list[str], stream: Stream) -> None:
    domain = deployment_domain(deployment)
    # 1. every acknowledged order is in its shard's journal, once (and so is every order
    # told replayed: its first attempt was taken); no other refusal in this workload
    assert stream.rejected == []
    for shard in LAYOUT.all_shards:
        journal = Counter(
            order_hash_of_payload(command.payload, domain)
            for command in journaled(urls, LAYOUT, shard)
            if type(command) is NewOrder
        )
        sent = {**stream.acknowledged, **stream.replayed}
        placed = {h: journal[h] for h, s in sent.items() if s == shard}
        assert placed == dict.fromkeys(placed, 1), f"shard {shard}: lost or placed twice"

    # 3. every engine fill settled or reported rejected (settlement catches up)
    record = wait_settled(deployment, urls, LAYOUT, within_s=SETTLED_WITHIN_S)
    assert record.fills, "no fill: the stream did not cross"
    assert len(record.fills) == len(set(record.fills))  # a (maker, taker) pair fills once here
    assert not record.unsettled, f"{len(record.unsettled)} fills neither settled nor rejected"

    # 2. no fill settled twice, none the engines did not make
    exchange = bind(web3_connect(deployment.rpc_url), deployment).exchange
    events = exchange.events.Filled().get_logs(from_block=deployment.start_block)
    on_chain = Counter(
        (bytes(e["args"]["maker_hash"]), bytes(e["args"]["taker_hash"])) for e in events
    )
    assert [key for key, n in on_chain.items() if n > 1] == [], "a fill settled twice"
    assert set(on_chain) == record.settled
    assert set(on_chain) <= set(record.fills)

    # 4. the position manager of cluster mode equals the chain
    pm = record.pm
    assert pm is not None
    assert len(pm.pending) == 0
    for role in (Role.MAKER, Role.TRADER):
        trader = deployment.wallet(role).address
        account = pm.account(trader)
        assert account is not None
        collateral, _, _ = exchange.functions.account(trader).call()
        assert account.collateral == collateral
        for listed in deployment.markets:
            size, quote, _, margin = exchange.functions.position(trader, listed.id).call()
            held = {p.market: p for p in account.positions}.get(listed.id)
            seen = (held.size, held.quote, held.isolated_margin) if held else (0, 0, 0)
            assert seen == (size, quote, margin), (role, listed.symbol)
    print(
        f"rounds {stream.rounds}, acknowledged {len(stream.acknowledged)}, refused and sent"
        f" again {stream.refused}, replayed {len(stream.replayed)},"
        f" fills {len(record.fills)}: settled {len(record.settled)}, rejected"
        f" {Counter(record.rejected.values())}, restarts {stream.restarts}"
    )
