"""Checkpoints of a real engine journal on a real anvil: post, verify, append, tamper."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from eth_account import Account
from eth_account.signers.local import LocalAccount
from web3 import Web3
from web3.contract import Contract
from web3.exceptions import ContractLogicError

from perpdex.chain.anvil import Anvil
from perpdex.chain.artifacts import compile_contract
from perpdex.chain.transact import send
from perpdex.core.types import EMBEDDED_SHARD, Address, MarketId, OrderId, Price, Side, Size
from perpdex.engine import (
    Cancel,
    ChainHead,
    ChainMismatch,
    Engine,
    Journal,
    ManualClock,
    MarketConfig,
    NewOrder,
    Sequencer,
    TornEntry,
    open_journal,
)
from perpdex.keeper.checkpoint import (
    GENESIS_CHECKPOINT,
    Checkpoint,
    Checkpointer,
    CheckpointMismatch,
    JournalTooShort,
    VerifiedCheckpoint,
    latest_checkpoint,
    read_checkpoints,
    verify_against_chain,
)

M = MarketId(0)
MAKER = Address("0x" + "a1" * 20)
TAKER = Address("0x" + "b0" * 20)


def _signer(anvil: Anvil, index: int) -> LocalAccount:
    account: LocalAccount = Account.from_key(anvil.accounts[index].private_key)
    return account


@pytest.fixture
def admin(anvil: Anvil) -> LocalAccount:
    return _signer(anvil, 0)


@pytest.fixture
def operator(anvil: Anvil) -> LocalAccount:
    return _signer(anvil, 1)


@pytest.fixture
def outsider(anvil: Anvil) -> LocalAccount:
    return _signer(anvil, 4)


@pytest.fixture
def checkpoints(web3: Web3, admin: LocalAccount, operator: LocalAccount) -> Contract:
    artifact = compile_contract("Checkpoints.vy")
    factory = web3.eth.contract(abi=artifact.abi, bytecode=artifact.bytecode)
    receipt = send(web3, admin, factory.constructor(operator.address))
    return web3.eth.contract(address=receipt["contractAddress"], abi=artifact.abi)


class JournaledEngine:
    """An engine writing its journal through the sequencer, as the service runs it."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.journal: Journal = open_journal(path)
        self.sequencer = Sequencer(Engine([MarketConfig(M)]), ManualClock(1_000), self.journal)
        self._next_order = 1

    def trade(self, price: int = 100) -> None:
        """A maker's sell rests, a taker's buy fills it, a late cancel is refused: 3 entries."""
        sell, buy = OrderId(self._next_order), OrderId(self._next_order + 1)
        self._next_order += 2
        for side, account, order_id in ((Side.SELL, MAKER, sell), (Side.BUY, TAKER, buy)):
            self.sequencer.submit(
                NewOrder(
                    market=M,
                    order_id=order_id,
                    account=account,
                    side=side,
                    price=Price(price),
                    size=Size(5),
                )
            )
        self.sequencer.submit(Cancel(M, sell))
        self.sequencer.flush()

    @property
    def head(self) -> ChainHead:
        return self.journal.head


Opener = Callable[[str], JournaledEngine]


@pytest.fixture
def open_engine(tmp_path: Path) -> Iterator[Opener]:
    """Opens an engine journaling to ``tmp_path / name``; closes them all after the test."""
    opened: list[JournaledEngine] = []

    def open_engine(name: str) -> JournaledEngine:
        opened.append(JournaledEngine(tmp_path / name))
        return opened[-1]

    yield open_engine
    for engine in opened:
        engine.journal.close()


@pytest.fixture(params=["journal.bin", "journal.sqlite"])
def engine(request: pytest.FixtureRequest, open_engine: Opener) -> JournaledEngine:
    return open_engine(request.param)


@pytest.fixture
def file_engine(open_engine: Opener) -> JournaledEngine:
    return open_engine("journal.bin")


@pytest.fixture
def checkpointer(
    web3: Web3, checkpoints: Contract, operator: LocalAccount, engine: JournaledEngine
) -> Checkpointer:
    return Checkpointer(web3, checkpoints, operator, engine.path)


def _committed(checkpoint: Checkpoint | None) -> tuple[int, int, bytes]:
    assert checkpoint is not None
    return checkpoint.index, checkpoint.seq, checkpoint.head


def test_post_verify_append_post_again(
    web3: Web3, checkpoints: Contract, checkpointer: Checkpointer, engine: JournaledEngine
) -> None:
    engine.trade()
    first = checkpointer.sync()
    assert _committed(first) == (1, 3, engine.head.head)
    assert first is not None and first.timestamp == web3.eth.get_block("latest")["timestamp"]
    assert verify_against_chain(engine.path, checkpoints) == VerifiedCheckpoint(first, engine.head)
    assert checkpointer.sync() is None  # nothing new

    engine.trade()
    engine.trade()
    second = checkpointer.sync()
    assert _committed(second) == (2, 9, engine.head.head)
    assert read_checkpoints(checkpoints) == [first, second]
    assert latest_checkpoint(checkpoints) == second
    assert verify_against_chain(engine.path, checkpoints).checkpoint == second


def test_uncommitted_entries_are_reported(
    checkpoints: Contract, checkpointer: Checkpointer, engine: JournaledEngine
) -> None:
    engine.trade()
    posted = checkpointer.sync()
    engine.trade()
    verified = verify_against_chain(engine.path, checkpoints)
    assert (verified.checkpoint, verified.journal.seq) == (posted, 6)


def test_restarts_never_double_post(
    web3: Web3,
    checkpoints: Contract,
    checkpointer: Checkpointer,
    operator: LocalAccount,
    engine: JournaledEngine,
) -> None:
    assert checkpointer.sync() is None  # an empty journal is the genesis checkpoint
    engine.trade()
    checkpointer.sync()
    restarted = Checkpointer(web3, checkpoints, operator, engine.path)
    assert restarted.sync() is None
    engine.trade()
    assert _committed(restarted.sync()) == (2, 6, engine.head.head)
    assert checkpointer.sync() is None
    assert checkpoints.functions.count(EMBEDDED_SHARD).call() == 2


def test_a_flipped_journal_byte_fails_verification(
    web3: Web3, checkpoints: Contract, operator: LocalAccount, file_engine: JournaledEngine
) -> None:
    keeper = Checkpointer(web3, checkpoints, operator, file_engine.path)
    file_engine.trade()
    keeper.sync()
    file_engine.trade()
    data = bytearray(file_engine.path.read_bytes())
    data[8 + 4 + 8 + 3] ^= 0x01  # magic, frame length, seq: a byte of entry 1's time stamp
    file_engine.path.write_bytes(bytes(data))

    with pytest.raises(ChainMismatch) as error:
        verify_against_chain(file_engine.path, checkpoints)
    assert error.value.seq == 1
    with pytest.raises(ChainMismatch):  # nor does the keeper post it
        keeper.sync()
    assert checkpoints.functions.count(EMBEDDED_SHARD).call() == 1


def test_a_rewritten_journal_fails_verification(
    web3: Web3,
    checkpoints: Contract,
    checkpointer: Checkpointer,
    operator: LocalAccount,
    engine: JournaledEngine,
    open_engine: Opener,
) -> None:
    engine.trade(price=100)
    committed = checkpointer.sync()
    # The same commands at another price, hash-chained consistently: a valid journal in
    # itself, but not the one committed to.
    forged = open_engine("forged" + engine.path.suffix)
    forged.trade(price=101)
    forged_head = forged.head.head
    forged.trade()

    with pytest.raises(CheckpointMismatch) as error:
        verify_against_chain(forged.path, checkpoints)
    assert error.value.checkpoint == committed
    assert error.value.journal_head == forged_head
    with pytest.raises(CheckpointMismatch):  # the keeper never posts a fork
        Checkpointer(web3, checkpoints, operator, forged.path).sync()
    assert latest_checkpoint(checkpoints) == committed


def test_a_journal_missing_committed_entries_fails(
    checkpoints: Contract, checkpointer: Checkpointer, engine: JournaledEngine, open_engine: Opener
) -> None:
    engine.trade()
    engine.trade()
    committed = checkpointer.sync()
    prefix = open_engine("prefix" + engine.path.suffix)
    prefix.trade()

    with pytest.raises(JournalTooShort) as error:
        verify_against_chain(prefix.path, checkpoints)
    assert (error.value.checkpoint, error.value.journal.seq) == (committed, 3)


def test_a_torn_tail_is_left_for_later(
    web3: Web3, checkpoints: Contract, operator: LocalAccount, file_engine: JournaledEngine
) -> None:
    file_engine.trade()
    with file_engine.path.open("ab") as file:
        file.write(b"\x00\x00\x00\x72partial")  # the engine caught mid-write

    keeper = Checkpointer(web3, checkpoints, operator, file_engine.path)
    assert _committed(keeper.sync()) == (1, 3, file_engine.head.head)
    with pytest.raises(TornEntry):
        verify_against_chain(file_engine.path, checkpoints)
    verified = verify_against_chain(file_engine.path, checkpoints, allow_torn_tail=True)
    assert verified.journal == file_engine.head


def test_every_checkpoint_is_checked_across_pages(
    web3: Web3, checkpoints: Contract, operator: LocalAccount, engine: JournaledEngine
) -> None:
    for _ in range(100):
        engine.trade()
    heads = [(entry.seq, entry.head) for entry in engine.journal.read()]
    batch = int(checkpoints.functions.MAX_BATCH().call())
    for first in range(0, len(heads), batch):
        send(
            web3,
            operator,
            checkpoints.functions.post_batch(EMBEDDED_SHARD, heads[first : first + batch]),
        )

    posted = read_checkpoints(checkpoints)
    assert len(posted) == 300 > checkpoints.functions.MAX_PAGE().call()
    assert [(c.index, c.seq, c.head) for c in posted] == [(seq, seq, head) for seq, head in heads]
    assert verify_against_chain(engine.path, checkpoints).checkpoint == posted[-1]


def test_an_empty_log_verifies_as_genesis(checkpoints: Contract, engine: JournaledEngine) -> None:
    assert verify_against_chain(engine.path, checkpoints) == VerifiedCheckpoint(
        GENESIS_CHECKPOINT, ChainHead(0, bytes(32))
    )


def test_a_rotated_out_keeper_cannot_post(
    web3: Web3,
    checkpoints: Contract,
    admin: LocalAccount,
    outsider: LocalAccount,
    checkpointer: Checkpointer,
    engine: JournaledEngine,
) -> None:
    send(web3, admin, checkpoints.functions.set_operator(outsider.address))
    engine.trade()
    with pytest.raises(ContractLogicError, match="caller is not the operator"):
        checkpointer.sync()
    assert _committed(Checkpointer(web3, checkpoints, outsider, engine.path).sync()) == (
        1,
        3,
        engine.head.head,
    )
