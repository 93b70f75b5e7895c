"""The default journal store: one local append-only file.

Format: the 8-byte magic ``PDXJRNL1``, then one frame per entry:
``length u32 | entry | head (32 bytes)``. Entries are written in groups (``append``) and
made durable by ``flush`` (with ``fsync`` if asked). A crash mid-write leaves at most a
cut-short frame at the end; opening the file again cuts it off: it was never flushed, so
its command was never acknowledged.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Sequence
from pathlib import Path
from struct import Struct
from typing import BinaryIO, Final

from perpdex.engine.codec import seq_of
from perpdex.engine.errors import BadEntry
from perpdex.engine.hashchain import HEAD_SIZE, HashChain
from perpdex.engine.journal import GENESIS_HEAD, ChainHead, Frame, JournalEntry, verified

MAGIC: Final = b"PDXJRNL1"
_LENGTH: Final = Struct(">I")


class FileJournal:
    def __init__(self, path: str | os.PathLike[str], *, fsync: bool = False) -> None:
        self.path = Path(path)
        self._fsync = fsync
        if not self.path.exists() or self.path.stat().st_size == 0:
            self.path.write_bytes(MAGIC)
        end, self._head = _last_complete(self.path)
        self._file: BinaryIO = open(self.path, "r+b")  # noqa: SIM115 -- lives as long as self
        self._file.truncate(end)
        self._file.seek(end)
        self._chain = HashChain(self._head.head)

    @property
    def head(self) -> ChainHead:
        return self._head

    def append(self, entries: Sequence[bytes]) -> list[bytes]:
        if not entries:
            return []
        heads = self._chain.extend(entries)
        pack = _LENGTH.pack
        out: list[bytes] = []
        for entry, head in zip(entries, heads, strict=True):
            out += (pack(len(entry)), entry, head)
        self._file.write(b"".join(out))
        self._head = ChainHead(self._head.seq + len(entries), heads[-1])
        return heads

    def flush(self) -> None:
        self._file.flush()
        if self._fsync:
            os.fsync(self._file.fileno())

    def read(self, after: ChainHead = GENESIS_HEAD) -> Iterator[JournalEntry]:
        return read_file(self.path, after)

    def close(self) -> None:
        self.flush()
        self._file.close()


def read_file(path: Path, after: ChainHead = GENESIS_HEAD) -> Iterator[JournalEntry]:
    """The flushed entries of a journal file after ``after``, without opening it to write."""
    with open(path, "rb") as file:
        yield from verified(frames(file), after)


def frames(file: BinaryIO) -> Iterator[Frame]:
    """The frames of an open journal file; a cut-short last one has an empty head."""
    if file.read(len(MAGIC)) != MAGIC:
        raise BadEntry(1, 0, "not a perpdex journal file")
    where = len(MAGIC)
    read = file.read
    while prefix := read(_LENGTH.size):
        if len(prefix) < _LENGTH.size:
            yield where, b"", b""
            return
        (length,) = _LENGTH.unpack(prefix)
        rest = read(length + HEAD_SIZE)
        if len(rest) < length + HEAD_SIZE:
            yield where, b"", b""
            return
        yield where, rest[:length], rest[length:]
        where += _LENGTH.size + length + HEAD_SIZE


def _last_complete(path: Path) -> tuple[int, ChainHead]:
    """Where the complete frames end, and the stored head of the last one (no hashing)."""
    end = len(MAGIC)
    last = GENESIS_HEAD
    with open(path, "rb") as file:
        for where, entry, stored in frames(file):
            if not stored:
                break
            end = where + _LENGTH.size + len(entry) + HEAD_SIZE
            last = ChainHead(seq_of(entry), stored)
    return end, last
