"""The journal's hash chain: ``head_n = keccak256(head_{n-1} || entry_n)``, genesis all zeros.

Hashing is pycryptodome's Keccak (``Crypto.Hash.keccak``), called through its shared
library directly: ``keccak.new(...).digest()`` spends about 3 us per entry in Python
wrappers, the three raw calls about 1 us. ``tests/unit/engine`` checks the two agree.
"""

from __future__ import annotations

import ctypes
import weakref
from collections.abc import Iterable
from pathlib import Path

import Crypto.Hash

GENESIS = bytes(32)
HEAD_SIZE = 32

_KECCAK_256_CAPACITY = 64  # bytes: twice the digest size
_KECCAK_ROUNDS = 24
_KECCAK_PADDING = 0x01  # original Keccak (Ethereum), not SHA-3's 0x06


def _load_keccak() -> ctypes.PyDLL:
    # Our own handle, so that setting argtypes does not touch pycryptodome's.
    path = next(Path(Crypto.Hash.__file__).parent.glob("_keccak.*"))
    lib = ctypes.PyDLL(str(path))
    lib.keccak_init.argtypes = [ctypes.POINTER(ctypes.c_void_p), ctypes.c_size_t, ctypes.c_ubyte]
    lib.keccak_destroy.argtypes = [ctypes.c_void_p]
    lib.keccak_reset.argtypes = [ctypes.c_void_p]
    lib.keccak_absorb.argtypes = [ctypes.c_void_p, ctypes.c_char_p, ctypes.c_size_t]
    lib.keccak_digest.argtypes = [ctypes.c_void_p, ctypes.c_char_p, ctypes.c_size_t, ctypes.c_ubyte]
    return lib


_LIB = _load_keccak()
_HeadBuffer = ctypes.c_char * HEAD_SIZE  # one type for all chains (a type per chain is garbage)


class HashChain:
    """Extends a chain head entry by entry; not thread-safe (one Keccak state per chain)."""

    def __init__(self, head: bytes = GENESIS) -> None:
        if len(head) != HEAD_SIZE:
            raise ValueError("a chain head is 32 bytes")
        self.head = head
        state = ctypes.c_void_p()
        if _LIB.keccak_init(ctypes.byref(state), _KECCAK_256_CAPACITY, _KECCAK_ROUNDS):
            raise MemoryError("keccak_init failed")
        self._state = state.value
        self._out = _HeadBuffer()
        weakref.finalize(self, _LIB.keccak_destroy, state.value)

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
            absorb(state, data, len(data))
            digest(state, out, HEAD_SIZE, _KECCAK_PADDING)
            head = out.raw
            heads.append(head)
        self.head = head
        return heads
