"""The keeper of cluster mode on a real nats-server and a real anvil of its own (funding moves
the chain's clock): it funds from the mid of a book it rebuilds from the shard's journal
stream (written here as the engine process writes it), liquidates a position the oracle
puts under water, commits every shard's journal head to that shard's checkpoint log,
reports itself on the status board, and a keeper started again after the first one stopped
posts no interval twice."""

from __future__ import annotations

import asyncio
import io
import itertools
import time
from collections.abc import Coroutine, Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from tests.integration.cluster.journal_testing import write
from tests.integration.cluster.shard_testing import BTC, Shard0
from tests.integration.node_testing import feeds_to_admin
from tests.integration.test_keeper import Chain, liquidated_events

from perpdex.chain.anvil import Anvil
from perpdex.chain.deploy import bind
from perpdex.chain.deployment import Deployment, Role
from perpdex.chain.param_changes import advance_to, restamp_feeds
from perpdex.chain.transact import send
from perpdex.cli.up import fresh_deployment
from perpdex.cluster.journal import JetStreamJournal
from perpdex.cluster.keeper_process import ClusterKeeperConfig, KeeperProcess
from perpdex.cluster.nats_server import NatsCluster
from perpdex.cluster.status import read_board, status_bucket
from perpdex.cluster.streams import ShardId, StreamLayout
from perpdex.cluster.transport import connect
from perpdex.core.units import to_price_units
from perpdex.keeper.checkpoint import latest_checkpoint, verify_against_chain
from perpdex.keeper.runner import KeeperConfig

prefixes = (f"keep{n}" for n in itertools.count())
WAIT_S = 30.0
SCENARIO_S = 240.0


@dataclass
class Venue:
    chain: Chain
    layout: StreamLayout
    nats: NatsCluster

    @property
    def deployment(self) -> Deployment:
        return self.chain.deployment

    def keeper(self) -> KeeperProcess:
        config = KeeperConfig(
            tasks=frozenset({"liquidator", "funding", "checkpoint"}),
            interval_s=0.2,
            funding_tick_s=0.2,
            checkpoint_interval_s=0.5,
        )
        return KeeperProcess(
            ClusterKeeperConfig(
                self.deployment, self.nats.urls, self.layout, self.chain.keeper, config
            )
        )

    def funding_posts(self) -> list[int]:
        events = self.chain.contracts.markets.events.FundingPosted().get_logs(
            from_block=self.deployment.start_block, argument_filters={"market": BTC}
        )
        return [int(event["args"]["rate"]) for event in events]

    def oracle_at(self, price: str) -> None:
        oracle = self.chain.contracts.oracles["BTC-PERP"]
        scale = 10 ** (int(oracle.functions.decimals().call()) - 6)
        send(
            self.chain.web3,
            self.chain.admin,
            oracle.functions.set_answer(to_price_units(price) * scale),
        )


@pytest.fixture
def venue(nats_single: NatsCluster) -> Iterator[Venue]:
    with Anvil() as anvil:
        deployment = fresh_deployment(anvil.rpc_url)
        feeds_to_admin(deployment)  # the test moves prices: the keeper key is the keeper's
        chain = Chain.of(anvil, deployment)
        chain.deposit(chain.keeper.address, "1000000")  # the liquidator's margin
        yield Venue(chain, StreamLayout(shards=2, prefix=next(prefixes)), nats_single)


async def within(seconds: float, body: Coroutine[Any, Any, None]) -> None:
    """``body``, failed with every task's stack if it has not ended within ``seconds``: a
    hang names its await instead of stalling the suite."""
    try:
        async with asyncio.timeout(seconds):
            await body
    except TimeoutError:
        stacks = io.StringIO()
        for task in asyncio.all_tasks():
            task.print_stack(file=stacks)
        raise AssertionError(f"not ended within {seconds} s:\n{stacks.getvalue()}") from None


async def until(condition: object, what: str) -> None:
    assert callable(condition)
    deadline = time.monotonic() + WAIT_S
    while not await asyncio.to_thread(condition):
        assert time.monotonic() < deadline, f"no {what} within {WAIT_S} s"
        await asyncio.sleep(0.1)


def test_the_cluster_keeper_funds_from_the_replicated_book_and_liquidates(venue: Venue) -> None:
    chain, btc = venue.chain, venue.chain.market("BTC-PERP")
    index = chain.price(btc)
    assert index == to_price_units("100000")
    shard = Shard0(venue.nats.urls, venue.layout, venue.deployment)
    try:  # a book quoted 100,050 / 100,150: its mid is 0.1% above the index
        shard.place(shard.order(Role.MAKER, is_buy=True, nonce=1, price=100_050))
        shard.place(shard.order(Role.TRADER, is_buy=False, nonce=2, price=100_150))
    finally:
        shard.close()
    other = JetStreamJournal(venue.nats.urls, venue.layout, ShardId(1))
    try:
        write(other, 3)  # shard 1's journal: three entries of its own
    finally:
        other.close()
    maker, long = chain.trader("1000000"), chain.trader("10000")
    chain.trade(maker, long, "BTC-PERP", "1.8")  # 18x
    web3, markets = chain.web3, chain.contracts.markets
    cap = int(markets.functions.funding(btc.id).call()[2])
    premium = 1_000_000  # 0.1% at FUNDING_RATE_SCALE
    assert int(markets.functions.FUNDING_RATE_SCALE().call()) == 10**9

    async def scenario() -> None:
        keeper = venue.keeper()
        await keeper.start()
        try:
            assert keeper.replicas.seqs()[0] >= 2  # the book is rebuilt from the journal
            nc = await connect(venue.nats.urls, name="test")
            board = await status_bucket(nc.jetstream(), venue.layout)
            deadline = time.monotonic() + WAIT_S
            while not [v for v in await read_board(board) if v.role == "keeper" and v.pid]:
                assert time.monotonic() < deadline, "the keeper is not on the status board"
                await asyncio.sleep(0.2)
            await nc.close()
            # the interval ends on chain; the index is stamped again so it is fresh
            _, interval, _, last_posted = markets.functions.funding(btc.id).call()
            await asyncio.to_thread(advance_to, web3, int(last_posted) + int(interval))
            await asyncio.to_thread(
                restamp_feeds, web3, chain.admin, bind(web3, venue.deployment).oracles.values()
            )
            await until(lambda: venue.funding_posts(), "funding post")
            assert venue.funding_posts() == [min(premium, cap)]
            # -3%: the 18x long is below maintenance, and the keeper steps in
            await asyncio.to_thread(venue.oracle_at, "97000")
            await until(lambda: liquidated_events(chain, long.address), "liquidation")
            # every shard's head is committed to its own log
            checkpoints = chain.contracts.checkpoints
            await until(
                lambda: (
                    [latest_checkpoint(checkpoints, s).seq for s in (ShardId(0), ShardId(1))]
                    == [2, 3]
                ),
                "a checkpoint of each shard",
            )
        finally:
            await keeper.stop()
        (event, *_) = liquidated_events(chain, long.address)
        assert event["liquidator"] == chain.keeper.address
        again = venue.keeper()  # a restart: the interval is on chain, so no second post
        await again.start()
        try:
            await asyncio.sleep(1.0)
        finally:
            await again.stop()
        assert venue.funding_posts() == [min(premium, cap)]

    asyncio.run(within(SCENARIO_S, scenario()))
    for shard in (ShardId(0), ShardId(1)):
        journal = JetStreamJournal(venue.nats.urls, venue.layout, shard)
        try:
            verified = verify_against_chain(journal.read, chain.contracts.checkpoints, shard=shard)
        finally:
            journal.close()
        assert verified.checkpoint.seq == verified.journal.seq
