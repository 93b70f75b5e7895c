"""Each cluster shard's JetStream journal checkpointed in its own on-chain log: a real
nats-server, a real anvil, the Checkpoints contract, and the keeper's ``Checkpointer``
reading each shard's stream as a keeper process of its own would."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from itertools import count

import pytest
from eth_account import Account
from eth_account.signers.local import LocalAccount
from tests.integration.cluster.journal_testing import write
from web3 import Web3
from web3.contract import Contract

from perpdex.chain.anvil import Anvil
from perpdex.chain.artifacts import compile_contract
from perpdex.chain.transact import send
from perpdex.cluster.journal import JetStreamJournal
from perpdex.cluster.nats_server import NatsCluster
from perpdex.cluster.streams import ShardId, StreamLayout
from perpdex.keeper.checkpoint import (
    Checkpointer,
    CheckpointMismatch,
    genesis_checkpoint,
    latest_checkpoint,
    read_checkpoints,
    verify_against_chain,
)

SPOT, PERPS = ShardId(0), ShardId(1)
_prefixes = count()


@pytest.fixture
def operator(anvil: Anvil) -> LocalAccount:
    account: LocalAccount = Account.from_key(anvil.accounts[1].private_key)
    return account


@pytest.fixture
def checkpoints(web3: Web3, anvil: Anvil, operator: LocalAccount) -> Contract:
    artifact = compile_contract("Checkpoints.vy")
    factory = web3.eth.contract(abi=artifact.abi, bytecode=artifact.bytecode)
    admin = Account.from_key(anvil.accounts[0].private_key)
    receipt = send(web3, admin, factory.constructor(operator.address))
    return web3.eth.contract(address=receipt["contractAddress"], abi=artifact.abi)


@pytest.fixture
def layout() -> StreamLayout:
    """Streams of the test's own on the shared server (streams are never deleted)."""
    return StreamLayout(shards=2, replicas=1, prefix=f"ckpt{next(_prefixes)}")


@pytest.fixture
def open_journal(
    nats_single: NatsCluster, layout: StreamLayout
) -> Iterator[Callable[[ShardId], JetStreamJournal]]:
    """Opens a shard's journal (the engine's, or the keeper's own reader); all closed after."""
    opened: list[JetStreamJournal] = []

    def open_journal(shard: ShardId) -> JetStreamJournal:
        opened.append(JetStreamJournal(nats_single.urls, layout, shard))
        return opened[-1]

    yield open_journal
    for journal in opened:
        journal.close()


def test_each_shards_head_is_posted_and_verified_in_its_own_log(
    web3: Web3,
    checkpoints: Contract,
    operator: LocalAccount,
    open_journal: Callable[[ShardId], JetStreamJournal],
) -> None:
    engines = {shard: open_journal(shard) for shard in (SPOT, PERPS)}
    write(engines[SPOT], 20, time=1_000)
    write(engines[PERPS], 20, time=2_000)  # same seqs, another journal: other heads
    assert engines[SPOT].head.seq == engines[PERPS].head.seq == 20
    assert engines[SPOT].head != engines[PERPS].head
    readers = {shard: open_journal(shard) for shard in (SPOT, PERPS)}  # the keeper's own
    keepers = {
        shard: Checkpointer(web3, checkpoints, operator, readers[shard].read, shard=shard)
        for shard in (SPOT, PERPS)
    }

    spot = keepers[SPOT].sync()
    assert spot is not None
    assert (spot.shard, spot.index, spot.seq, spot.head) == (SPOT, 1, 20, engines[SPOT].head.head)
    assert latest_checkpoint(checkpoints, PERPS) == genesis_checkpoint(PERPS)
    verified = verify_against_chain(readers[SPOT].read, checkpoints, shard=SPOT)
    assert (verified.checkpoint, verified.journal) == (spot, engines[SPOT].head)
    assert keepers[SPOT].sync() is None  # nothing new

    # posting shard PERPS never moves shard SPOT's log
    perps = keepers[PERPS].sync()
    assert perps is not None
    assert (perps.shard, perps.index, perps.seq, perps.head) == (
        PERPS,
        1,
        20,
        engines[PERPS].head.head,
    )
    assert read_checkpoints(checkpoints, SPOT) == [spot]
    assert verify_against_chain(readers[PERPS].read, checkpoints, shard=PERPS).checkpoint == perps

    # the engines go on; each keeper posts its shard's new head, at its own next index
    write(engines[SPOT], 5, time=1_000)
    spot_again = keepers[SPOT].sync()
    assert spot_again is not None
    assert (spot_again.index, spot_again.seq) == (2, 25)
    assert read_checkpoints(checkpoints, PERPS) == [perps]
    assert read_checkpoints(checkpoints, SPOT) == [spot, spot_again]


def test_a_shards_journal_does_not_pass_for_another_shards(
    web3: Web3,
    checkpoints: Contract,
    operator: LocalAccount,
    open_journal: Callable[[ShardId], JetStreamJournal],
) -> None:
    spot, perps = open_journal(SPOT), open_journal(PERPS)
    write(spot, 8, time=1_000)
    write(perps, 8, time=2_000)
    committed = Checkpointer(web3, checkpoints, operator, spot.read, shard=SPOT).sync()
    assert committed is not None

    # shard PERPS' journal, offered as shard SPOT's: a valid chain, but not the committed one
    with pytest.raises(CheckpointMismatch) as error:
        verify_against_chain(perps.read, checkpoints, shard=SPOT)
    assert error.value.checkpoint == committed
    assert "shard 0 checkpoint 1" in str(error.value)
    # and the keeper never posts it into shard SPOT's log as a fork
    write(perps, 2, time=2_000)
    with pytest.raises(CheckpointMismatch):
        Checkpointer(web3, checkpoints, operator, perps.read, shard=SPOT).sync()
    assert latest_checkpoint(checkpoints, SPOT) == committed
