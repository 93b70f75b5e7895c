"""The journal's hash chain: ``head_n = keccak256(head_{n-1} || entry_n)``, genesis all zeros.

Hashing is pycryptodome's Keccak (``Crypto.Hash.keccak``), called through its shared
library directly: ``keccak.new(...).digest()`` spends about 3 us per entry in Python
wrappers, the three raw calls about 1 us. The calls take ready-made ctypes arguments
rather than ``argtypes`` conversions, which cost a quarter of that again.
``tests/unit/engine`` checks the result against ``keccak.new``.
"""

from __future__ import annotations

import ctypes
import weakref
from collections.abc import Iterable
from functools import lru_cache
from pathlib import Path

import Crypto.Hash

GENESIS = bytes(32)
HEAD_SIZE = 32

_KECCAK_256_CAPACITY = ctypes.c_size_t(64)  # bytes: twice the digest size
_KECCAK_ROUNDS = ctypes.c_ubyte(24)
_KECCAK_PADDING = ctypes.c_ubyte(0x01)  # original Keccak (Ethereum), not SHA-3's 0x06
_DIGEST_SIZE = ctypes.c_size_t(HEAD_SIZE)
_HeadBuffer = ctypes.c_char * HEAD_SIZE  # one type for all chains (a type per chain is garbage)
_size = lru_cache(maxsize=4096)(ctypes.c_size_t)  # entry lengths repeat


def _load_keccak() -> ctypes.PyDLL:
    # PyDLL: no GIL release around calls that take well under a microsecond.
    path = next(Path(Crypto.Hash.__file__).parent.glob("_keccak.*"))
    return ctypes.PyDLL(str(path))


_LIB = _load_keccak()


class HashChain:
    """Extends a chain head entry by entry; not thread-safe (one Keccak state per chain)."""

    def __init__(self, head: bytes = GENESIS) -> None:
        if len(head) != HEAD_SIZE:
            raise ValueError("a chain head is 32 bytes")
        self.head = head
        state = ctypes.c_void_p()
        if _LIB.keccak_init(ctypes.byref(state), _KECCAK_256_CAPACITY, _KECCAK_ROUNDS):
            raise MemoryError("keccak_init failed")
        self._state = state
        self._out = _HeadBuffer()
        weakref.finalize(self, _LIB.keccak_destroy, state)

    def extend(self, entries: Iterable[bytes]) -> list[bytes]:
        """Append ``entries`` to the chain; returns the head after each one."""
        reset = _LIB.keccak_reset
        absorb = _LIB.keccak_absorb
        digest = _LIB.keccak_digest
        state = self._state
        out = self._out
        head = self.head
        heads = []
        for entry in entries:
            data = head + entry
            reset(state)
            absorb(state, data, _size(len(data)))
            digest(state, out, _DIGEST_SIZE, _KECCAK_PADDING)
            head = out.raw
            heads.append(head)
        self.head = head
        return heads
