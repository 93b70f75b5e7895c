"""``perpdex keeper --nats URL``: the keeper of cluster mode (docs/keeper.md), the embedded
node's keeper with its inputs taken from the cluster instead of the node's own services.

- The liquidator scans a position manager folded from the chain in this process (settled
  state: what the contract liquidates), as the node's keeper scans the node's.
- Funding samples the mids of replicas of every shard's book
  (:class:`~perpdex.cluster.replicas.ReplicaSet`), rebuilt from the journals.
- The checkpoint task posts every shard's journal head to that shard's log of the
  ``Checkpoints`` contract, each journal re-read from its stream (and its chain checked
  through the shard's latest checkpoint) as the embedded keeper re-reads the file.
- Oracle pushes and parameter changes need the chain only.

It keeps no state of its own: every decision is re-read from the chain (a funding interval
already posted, a checkpoint already at the head, an account no longer liquidatable), so a
restarted keeper, or two of them, never act twice. It reports to the status board as
``keeper`` with its replicas' sequence and lag.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Sequence
from dataclasses import dataclass

from eth_account.signers.local import LocalAccount
from nats.aio.client import Client

from perpdex.chain.deployment import Deployment
from perpdex.cluster.journal import JetStreamJournal
from perpdex.cluster.replicas import ReplicaSet
from perpdex.cluster.status import StatusReporter, status_bucket
from perpdex.cluster.streams import ShardId, StreamLayout, ensure_streams
from perpdex.cluster.tasks import Tasks
from perpdex.cluster.transport import connect
from perpdex.keeper.runner import Keeper, KeeperConfig
from perpdex.risk.from_chain import engine_markets, position_manager_from_chain
from perpdex.services.keeper import LoopBooks, ManagerScan

log = logging.getLogger(__name__)

NAME = "keeper"


@dataclass(frozen=True, slots=True)
class ClusterKeeperConfig:
    deployment: Deployment
    nats: Sequence[str]
    layout: StreamLayout
    signer: LocalAccount
    keeper: KeeperConfig
    """The tasks and their periods, as the embedded keeper takes them."""
    poll_interval_s: float = 0.5
    """How often the position manager folds the chain (the liquidator's view)."""


class KeeperProcess:
    def __init__(self, config: ClusterKeeperConfig) -> None:
        self.config = config
        self._nc: Client | None = None
        self._replicas: ReplicaSet | None = None
        self._keeper: Keeper | None = None
        self._journals: dict[ShardId, JetStreamJournal] = {}
        self._tasks = Tasks()

    @property
    def keeper(self) -> Keeper:
        assert self._keeper is not None, "not started"
        return self._keeper

    @property
    def replicas(self) -> ReplicaSet:
        assert self._replicas is not None, "not started"
        return self._replicas

    async def start(self) -> None:
        config = self.config
        self._nc = nc = await connect(config.nats, name=f"perpdex {NAME}")
        await ensure_streams(nc.jetstream(), config.layout)
        pm = await position_manager_from_chain(config.deployment)
        self._replicas = replicas = ReplicaSet(nc, config.layout, engine_markets(config.deployment))
        await replicas.start()
        await replicas.caught_up()
        self._tasks.spawn(pm.run(config.poll_interval_s))
        if "checkpoint" in config.keeper.tasks:
            for shard in config.layout.all_shards:  # each reads its stream in its own thread
                journal = await asyncio.to_thread(
                    JetStreamJournal, config.nats, config.layout, shard
                )
                self._journals[shard] = journal
        loop = asyncio.get_running_loop()
        self._keeper = keeper = Keeper(
            config.deployment,
            config.signer,
            config.keeper,
            books=LoopBooks(lambda: replicas.books, loop),
            scan=ManagerScan(lambda: pm, loop),
            journals={shard: journal.read for shard, journal in self._journals.items()},
        )
        self._tasks.spawn(keeper.run())
        board = await status_bucket(nc.jetstream(), config.layout)
        self._tasks.spawn(StatusReporter(board, NAME, NAME, None, replicas.progress).run())
        log.info(
            "keeper %s: %s; chain folded to block %d, journals replicated to %s",
            config.signer.address,
            ", ".join(sorted(config.keeper.tasks)),
            pm.through,
            replicas.seqs(),
        )

    async def stop(self) -> None:
        await self._tasks.cancel()
        if self._replicas is not None:
            await self._replicas.stop()
        for journal in self._journals.values():
            await asyncio.to_thread(journal.close)
        self._journals.clear()
        if self._nc is not None:
            with contextlib.suppress(Exception):
                await self._nc.close()
