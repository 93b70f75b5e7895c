"""Every on-chain checkpoint against the journal's recomputed head at its sequence number.

The ``Checkpoints`` contract's list is gapless by construction (indices 1..count, seqs
strictly increasing; re-checked here all the same). A checkpoint the journal does not reach
means committed entries are missing; the journal's entries past the latest checkpoint are
not committed yet, and the report says how many.
"""

from __future__ import annotations

from collections.abc import Sequence

from perpdex.audit.findings import Check, Discrepancy
from perpdex.engine.journal import ChainHead
from perpdex.keeper.checkpoint import GENESIS_CHECKPOINT, Checkpoint


class CheckpointCheck:
    def __init__(self, checkpoints: Sequence[Checkpoint], anchor: ChainHead) -> None:
        self.checkpoints = list(checkpoints)
        self.found: list[Discrepancy] = []
        self.checked = 0
        self._anchor = anchor
        self._due = {c.seq: c for c in self.checkpoints if c.seq > anchor.seq}
        previous = GENESIS_CHECKPOINT
        for checkpoint in self.checkpoints:
            if checkpoint.index != previous.index + 1 or checkpoint.seq <= previous.seq:
                self._fail(checkpoint, f"not gapless after checkpoint {previous.index}")
            previous = checkpoint

    @property
    def latest(self) -> Checkpoint:
        return self.checkpoints[-1] if self.checkpoints else GENESIS_CHECKPOINT

    def see(self, seq: int, head: bytes) -> None:
        """Entry ``seq`` of the journal hashes to ``head``."""
        checkpoint = self._due.pop(seq, None)
        if checkpoint is None:
            return
        self.checked += 1
        if checkpoint.head != head:
            self._fail(
                checkpoint,
                f"the journal's head 0x{head.hex()} is not the committed 0x{checkpoint.head.hex()}",
            )

    def end(self, last: ChainHead) -> int:
        """The journal was read up to ``last``; returns how many of its entries are past the
        latest checkpoint (not committed on-chain yet)."""
        for checkpoint in sorted(self._due.values(), key=lambda c: c.seq):
            self._fail(
                checkpoint, f"the journal ends at entry {last.seq}: committed entries missing"
            )
        self._due.clear()
        return max(last.seq - self.latest.seq, 0)

    def _fail(self, checkpoint: Checkpoint, detail: str) -> None:
        self.found.append(
            Discrepancy(
                Check.CHECKPOINT,
                checkpoint.seq,
                f"checkpoint {checkpoint.index}: {detail}",
                evidence={"index": checkpoint.index, "head": "0x" + checkpoint.head.hex()},
            )
        )
