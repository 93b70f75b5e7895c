"""A node's durable state on disk: one folder per chain identity, owned by one node at a time.

    build/state/                          the root (``perpdex up --state-dir``)
        node.lock                         flock'ed for the running node's life; names it
        31337-0x5fbdb231-9c41e07a2b1f/    one chain identity (see ChainIdentity.slug)
            identity.json                 chain id, genesis hash, Exchange, its block
            journal.bin                   the engine's journal
            settled_seq                   the settlement runner's cursor

Nothing here deletes or empties a journal: a new chain gets a new folder and the folders of
older chains stay for audit. A journal is only ever replayed on the chain it was written
for, and a second node on the same root fails before it touches anything.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import logging
import os
import sys
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import msgspec
from web3 import Web3

from perpdex.chain.deployment import Deployment
from perpdex.core.types import Address
from perpdex.durable import write_atomic

LOCK_FILE = "node.lock"
IDENTITY_FILE = "identity.json"
JOURNAL_FILE = "journal.bin"
CURSOR_FILE = "settled_seq"
ACCOUNTS_FILE = "accounts.sqlite"
"""The account events and orders derived from the journal (``AccountStore``)."""
LEVERAGE_FILE = "leverage.sqlite"
"""The traders' leverage caps (``LeverageStore``): not in the journal, so not rebuilt."""

log = logging.getLogger(__name__)


class StateDirLockedError(RuntimeError):
    """Another process holds the state directory (its pid, command and start time)."""

    def __init__(self, root: Path, holder: LockHolder | None) -> None:
        self.root = root
        self.holder = holder
        who = (
            f"pid {holder.pid} (`{holder.command}`, started {holder.started})"
            if holder is not None
            else "another process (it has not written its name yet)"
        )
        super().__init__(f"{root} is in use by {who}: one node per state directory")


class ChainIdentityError(ValueError):
    """A journal (or a deployment) belongs to another chain than the one the node runs on."""


class LockHolder(msgspec.Struct, frozen=True):
    pid: int
    command: str
    started: str
    """ISO 8601, UTC."""


class ChainIdentity(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """What tells one deployed exchange from every other: two anvils started from the same
    mnemonic deploy the Exchange at the same address in the same block, so the genesis
    and deployment block hashes are part of it."""

    chain_id: int
    genesis_hash: str
    exchange: Address
    deployment_block: int
    deployment_block_hash: str

    @property
    def slug(self) -> str:
        """Its folder name: readable chain id and Exchange prefix, and a digest of it all."""
        digest = hashlib.sha256(msgspec.json.encode(self)).hexdigest()[:12]
        return f"{self.chain_id}-{self.exchange[:10].lower()}-{digest}"


def chain_identity(web3: Web3, deployment: Deployment) -> ChainIdentity:
    """Read the identity of ``deployment`` from the chain ``web3`` talks to;
    :class:`ChainIdentityError` if that chain is not the deployment's (other chain id, no
    Exchange code, deployment block not yet mined)."""
    chain_id = web3.eth.chain_id
    if chain_id != deployment.chain_id:
        raise ChainIdentityError(
            f"the node at {deployment.rpc_url} is chain {chain_id}; "
            f"the deployment is on chain {deployment.chain_id}"
        )
    exchange = deployment.contracts.exchange
    if not web3.eth.get_code(Web3.to_checksum_address(exchange)):
        raise ChainIdentityError(
            f"no Exchange at {exchange} on the chain at {deployment.rpc_url}: "
            "the deployment file is of another chain (deploy again)"
        )
    head = web3.eth.block_number
    if deployment.start_block > head:
        raise ChainIdentityError(
            f"the deployment's block {deployment.start_block} is past the head {head} of "
            f"the chain at {deployment.rpc_url}: the deployment file is of another chain"
        )
    return ChainIdentity(
        chain_id=chain_id,
        genesis_hash=web3.eth.get_block(0)["hash"].to_0x_hex(),
        exchange=exchange,
        deployment_block=deployment.start_block,
        deployment_block_hash=web3.eth.get_block(deployment.start_block)["hash"].to_0x_hex(),
    )


class StateLock:
    """An exclusive ``flock`` on ``<root>/node.lock``, with the holder's name in the file.
    The kernel drops it when the holder dies (even by SIGKILL): a lock is never stale."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.path = root / LOCK_FILE
        self._fd: int | None = None

    @property
    def held(self) -> bool:
        return self._fd is not None

    def acquire(self) -> None:
        """Take the lock or raise :class:`StateDirLockedError` naming its holder."""
        if self._fd is not None:
            return
        self.root.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            raise StateDirLockedError(self.root, read_holder(self.path)) from None
        me = LockHolder(
            pid=os.getpid(),
            command=_command_line(),
            started=datetime.now(UTC).isoformat(timespec="seconds"),
        )
        os.ftruncate(fd, 0)
        os.pwrite(fd, msgspec.json.encode(me) + b"\n", 0)
        self._fd = fd

    def release(self) -> None:
        if self._fd is None:
            return
        os.ftruncate(self._fd, 0)  # still ours here: nobody else reads a stale name
        os.close(self._fd)  # closing drops the flock
        self._fd = None

    def ensure_free(self) -> None:
        """Fail now, naming the holder, if another process holds the lock (a caller's early
        check: the lock is only held by :meth:`acquire`)."""
        self.acquire()
        self.release()


def _command_line() -> str:
    # `perpdex up ...` from the script's argv; `python -c ...` has no script: the interpreter's
    argv = sys.argv if sys.argv[0] not in ("", "-c") else sys.orig_argv
    return " ".join([Path(argv[0]).name, *argv[1:]])


def read_holder(path: Path) -> LockHolder | None:
    """The holder named in a lock file; None while it has not written its name yet."""
    with contextlib.suppress(OSError, msgspec.DecodeError, msgspec.ValidationError):
        return msgspec.json.decode(path.read_bytes(), type=LockHolder)
    return None


@dataclass(frozen=True, slots=True)
class ChainState:
    """The folder of one chain identity and the files in it."""

    directory: Path
    identity: ChainIdentity

    @property
    def journal(self) -> Path:
        return self.directory / JOURNAL_FILE

    @property
    def cursor(self) -> Path:
        return self.directory / CURSOR_FILE

    @property
    def accounts(self) -> Path:
        return self.directory / ACCOUNTS_FILE

    @property
    def leverage(self) -> Path:
        return self.directory / LEVERAGE_FILE


def open_chain_state(root: Path, identity: ChainIdentity) -> ChainState:
    """The folder of ``identity`` under ``root``, created with its identity file the first
    time; :class:`ChainIdentityError` if the folder holds state of another identity (or of
    none: files without an identity file are never adopted)."""
    directory = root / identity.slug
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / IDENTITY_FILE
    if path.exists():
        try:
            found = msgspec.json.decode(path.read_bytes(), type=ChainIdentity)
        except (msgspec.DecodeError, msgspec.ValidationError) as error:
            raise ChainIdentityError(f"{path}: unreadable identity ({error})") from None
        if found != identity:
            raise ChainIdentityError(
                f"{directory} holds the state of another chain ({_describe(found)}); "
                f"this node runs on {_describe(identity)}: refusing to replay its journal"
            )
    elif any(p.exists() for p in (directory / JOURNAL_FILE, directory / CURSOR_FILE)):
        raise ChainIdentityError(
            f"{directory} holds state without an identity file: refusing to replay it"
        )
    else:
        write_atomic(path, msgspec.json.format(msgspec.json.encode(identity), indent=2) + b"\n")
    _note_others(root, identity)
    return ChainState(directory, identity)


def _describe(identity: ChainIdentity) -> str:
    return (
        f"chain {identity.chain_id}, genesis {identity.genesis_hash[:10]}, Exchange "
        f"{identity.exchange} deployed at block {identity.deployment_block} "
        f"({identity.deployment_block_hash[:10]})"
    )


def _note_others(root: Path, identity: ChainIdentity) -> None:
    # kept for audit, never replayed: say so, so an operator does not wonder where they went
    others = sorted(p.name for p in root.iterdir() if p.name not in (identity.slug, LOCK_FILE))
    if others:
        log.info("state of other chains kept under %s: %s", root, ", ".join(others))
