"""Order nonces that never collide: across restarts and across processes of one wallet.

Why it matters: the Exchange keeps an order's fill state *by nonce* (two bits per nonce in
``_order_state``, plus the nonce floor in the account word). Two live orders with one nonce
share those bits, so filling or cancelling one closes the other. Nonces must be unique per
trader for the life of the Exchange, not just among live orders.

The choice:

* **Sequential within a process.** The contract packs 128 nonces per storage word, so
  consecutive nonces share a word that is already paid for; random or clock-based nonces
  would each open a fresh 22,100-gas slot on their first fill.
* **Leased from a state file.** An allocator takes a block of ``lease`` nonces at a time by
  advancing a high-water mark (the next never-leased nonce) in one small file per (chain,
  Exchange, trader) under ``state_dir``. The file is read, advanced and fsynced under an
  exclusive ``flock`` before any nonce of the block is handed out, so two processes of the
  same wallet get disjoint blocks, and a restarted process starts above every nonce any
  earlier process leased, whether it used them or not (gaps are harmless).
* **A fresh file starts at the clock.** If the file is missing (first use, a wiped state
  dir, another machine), the mark starts at ``unix_seconds << CLOCK_SHIFT``: above every
  nonce an earlier file could have reached unless it leased more than 2**20 nonces per
  second of its lifetime. Processes on *different* machines running at the same time must
  not share a wallet without sharing the state dir (a shared file system with working
  ``flock``): nothing else can order their nonces without a round trip.
* **Never below the on-chain floor.** Nonces below ``account(trader).nonce_floor`` are
  closed, so :meth:`NonceAllocator.next` skips up to the floor it was last told about
  (:meth:`observe_floor`); :meth:`reserve_floor` is how a cancel-all by nonce floor picks a
  floor above everything leased so far.

The cost of this choice: nonces from the clock seed are far above the initial floor of 0,
so the contract's cheapest path (a whole fill exactly at the floor just raises it) applies
only after the trader raised the floor to their range; the map path it uses otherwise is
what any cancel or partial fill switches to anyway.
"""

from __future__ import annotations

import fcntl
import os
import threading
import time
from collections.abc import Callable
from pathlib import Path

from perpdex.core.eip712 import Nonce
from perpdex.core.types import Address

CLOCK_SHIFT = 20
"""A fresh state file starts at ``unix_seconds << 20`` (about 2**51 today; uint64 holds it)."""

DEFAULT_LEASE = 32
"""Nonces leased per file update: one fsync per 32 orders, at most 31 skipped on a restart."""

MAX_NONCE = (1 << 64) - 1
"""Orders sign the nonce as ``uint64``."""

_WIDTH = 20  # digits of 2**64: the mark is rewritten in place at a fixed width


class NonceExhaustedError(RuntimeError):
    """The nonce space (uint64) of this trader is used up: nothing can be signed any more."""


def state_file(state_dir: Path, chain_id: int, exchange: Address, trader: Address) -> Path:
    """Where ``trader``'s high-water mark for one deployed Exchange lives."""
    return state_dir / "nonces" / f"{chain_id}-{exchange}-{trader}"


def trader_allocator(
    chain_id: int, exchange: Address, trader: Address, state_dir: Path | None = None
) -> NonceAllocator:
    """The allocator of ``trader`` on one deployed Exchange (``state_dir`` default:
    :func:`default_state_dir`)."""
    return NonceAllocator(state_file(state_dir or default_state_dir(), chain_id, exchange, trader))


def default_state_dir() -> Path:
    """``$PERPDEX_STATE_DIR`` or ``~/.local/state/perpdex``."""
    override = os.environ.get("PERPDEX_STATE_DIR")
    if override:
        return Path(override)
    return Path.home() / ".local" / "state" / "perpdex"


class NonceAllocator:
    """Hands out one trader's nonces from blocks leased in ``path`` (see the module doc)."""

    def __init__(
        self,
        path: Path,
        *,
        lease: int = DEFAULT_LEASE,
        clock: Callable[[], float] = time.time,
    ) -> None:
        if lease < 1:
            raise ValueError("lease must be at least 1")
        self.path = path
        self.lease = lease
        self._clock = clock
        self._floor = 0
        self._next = 0
        self._end = 0  # the current block is [_next, _end)
        self._lock = threading.Lock()

    def next(self) -> Nonce:
        """A nonce no allocator of this state file has handed out, at or above the floor."""
        with self._lock:
            if self._next < self._floor:
                self._next = self._floor
            if self._next >= self._end:
                self._next, self._end = self._lease(self.lease)
            nonce = self._next
            self._next += 1
            return Nonce(nonce)

    def observe_floor(self, floor: int) -> None:
        """The on-chain nonce floor (it only rises): later nonces are at least ``floor``."""
        with self._lock:
            self._floor = max(self._floor, floor)

    def reserve_floor(self) -> Nonce:
        """A nonce floor above every nonce leased so far, by any process: raising the on-chain
        floor to it cancels every order signed with this state file. This allocator's own
        block is dropped (it lies below); other processes learn of the floor from the chain."""
        with self._lock:
            floor, _ = self._lease(0)
            self._floor = max(self._floor, floor)
            self._next = self._end = 0
            return Nonce(floor)

    def _lease(self, count: int) -> tuple[int, int]:
        """Advance the file's mark by ``count`` under an exclusive lock; the leased block."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)  # released by close, also if this process dies
            start = max(self._read_mark(fd), self._floor)
            end = start + count
            if end > MAX_NONCE:
                raise NonceExhaustedError(f"{self.path}: no nonces left below 2**64")
            os.pwrite(fd, f"{end:0{_WIDTH}d}\n".encode(), 0)
            os.fsync(fd)  # durable before any nonce of the block is signed
            return start, end
        finally:
            os.close(fd)

    def _read_mark(self, fd: int) -> int:
        text = os.pread(fd, _WIDTH + 1, 0).decode("ascii", errors="replace").strip()
        if text.isdigit():
            return int(text)
        # missing or unreadable: the clock is above what an earlier file reached
        return int(self._clock()) << CLOCK_SHIFT
