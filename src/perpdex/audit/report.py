"""The audit's result: a summary table and the discrepancies, as text or one JSON object."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from perpdex.audit.findings import Discrepancy, first_of

MAX_LISTED = 20
"""Discrepancies printed after the first (all of them are in the JSON)."""


@dataclass
class Summary:
    shard: int = 0
    """The engine shard whose journal and checkpoint log were audited (0: the embedded node)."""
    commands: int = 0
    """Journal entries read and hash-checked."""
    first_seq: int = 0
    last_seq: int = 0
    head: str = "0x" + "00" * 32
    fills: int = 0
    """Fills of the replay (and of the reference, while the two agreed)."""
    checkpoints: int = 0
    """Posted on chain."""
    checkpoints_checked: int = 0
    latest_checkpoint_seq: int = 0
    unchecked: int = 0
    """Entries past the latest checkpoint: read and replayed, but not committed on-chain yet."""
    settled: int = 0
    rejected: int = 0
    dropped: int = 0
    pending: int = 0
    resent: int = 0
    """Fills that had ended, sent again and refused on chain (a restarted batcher's)."""
    receipts: int = 0
    signatures: int = 0
    """Signed orders (and amends) whose signature was checked against their trader."""
    block: int | None = None
    """The chain was read up to this block."""
    reasons: dict[str, int] = field(default_factory=dict)


@dataclass
class Report:
    summary: Summary
    discrepancies: list[Discrepancy]
    not_run: list[str] = field(default_factory=list)
    """Checks that did not run, each with why."""

    @property
    def ok(self) -> bool:
        return not self.discrepancies

    @property
    def first(self) -> Discrepancy | None:
        return first_of(self.discrepancies)

    def as_json(self) -> dict[str, Any]:
        first = self.first
        return {
            "ok": self.ok,
            "summary": {_camel(name): value for name, value in asdict(self.summary).items()},
            "first": None if first is None else _json(first),
            "discrepancies": [_json(d) for d in self.discrepancies],
            "notRun": self.not_run,
        }

    def text(self) -> str:
        s = self.summary
        rows = [
            ("commands", f"{s.commands} (seq {s.first_seq}..{s.last_seq}, head {s.head})"),
            ("fills", str(s.fills)),
            ("signatures", f"{s.signatures} checked"),
            (
                "checkpoints",
                f"{s.checkpoints_checked} checked of {s.checkpoints} posted on shard {s.shard}"
                f" (latest at seq {s.latest_checkpoint_seq}; {s.unchecked} newer entries not"
                " committed yet)",
            ),
            ("settled", str(s.settled)),
            (
                "rejected",
                f"{s.rejected} on chain, {s.dropped} dropped, {s.pending} pending"
                f" ({s.resent} resends refused)",
            ),
            ("receipts", str(s.receipts)),
        ]
        if s.block is not None:
            rows.append(("chain read to", f"block {s.block}"))
        width = max(len(name) for name, _ in rows)
        lines = [f"{name.ljust(width)}  {value}" for name, value in rows]
        lines += [
            f"{'reason'.ljust(width)}  {count} {reason}" for reason, count in s.reasons.items()
        ]
        lines += [f"not run: {why}" for why in self.not_run]
        first = self.first
        if first is None:
            lines.append("OK: every check that ran holds")
            return "\n".join(lines)
        lines.append(f"FAILED: {len(self.discrepancies)} discrepancies; the first:")
        lines.append(f"  {first.describe()}")
        for key, value in first.evidence.items():
            lines.append(f"    {key}: {value}")
        others = [d for d in self.discrepancies if d is not first][:MAX_LISTED]
        lines += [f"  also: {d.describe()}" for d in others]
        return "\n".join(lines)


def _camel(name: str) -> str:
    """JSON members are camelCase, as everywhere in the protocol (docs/protocol.md)."""
    head, *rest = name.split("_")
    return head + "".join(part.title() for part in rest)


def _json(found: Discrepancy) -> dict[str, Any]:
    return {
        "check": str(found.check),
        "seq": found.seq,
        "orderHash": found.order_hash,
        "detail": found.detail,
        "evidence": found.evidence,
    }
