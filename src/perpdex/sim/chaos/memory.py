"""Resident memory of a process and its descendants, read from Linux's ``/proc`` (the node
runs every service in one process; its signature workers are child processes), and the
least-squares slope of a series of samples."""

from __future__ import annotations

import statistics
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Final

PROC: Final = Path("/proc")
KIB: Final = 1024


@dataclass(frozen=True, slots=True)
class MemorySample:
    at_s: float
    """Seconds since the soak started."""
    rss: dict[str, int]
    """Bytes resident, by process (``node``, ``worker-<pid>``)."""
    disk: int = 0
    """Bytes of the node's state directory (journal, account store, cursors): what was
    moved out of memory grows here."""


def resident_bytes(pid: int) -> int | None:
    """``VmRSS`` of ``pid``, or None once it is gone."""
    try:
        status = (PROC / str(pid) / "status").read_text()
    except (FileNotFoundError, ProcessLookupError):
        return None
    for line in status.splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * KIB
    return None  # a zombie has no VmRSS


def children(pid: int) -> list[int]:
    """Direct children of ``pid`` (every thread's list: a worker may be any thread's)."""
    found: list[int] = []
    for task in (PROC / str(pid) / "task").glob("*"):
        try:
            found += [int(child) for child in (task / "children").read_text().split()]
        except (FileNotFoundError, ProcessLookupError):
            continue
    return sorted(set(found))


def tree_sample(pid: int) -> dict[str, int]:
    """The node's resident bytes and each child's: ``worker-<pid>`` (a signature worker)
    or ``resource-tracker`` (multiprocessing's)."""
    sample: dict[str, int] = {}
    node = resident_bytes(pid)
    if node is not None:
        sample["node"] = node
    for child in children(pid):
        rss = resident_bytes(child)
        if rss is not None:
            sample[_child_name(child)] = rss
    return sample


def _child_name(pid: int) -> str:
    try:
        command = (PROC / str(pid) / "cmdline").read_bytes()
    except (FileNotFoundError, ProcessLookupError):
        command = b""
    return "resource-tracker" if b"resource_tracker" in command else f"worker-{pid}"


def directory_bytes(path: Path) -> int:
    """The sizes of the files under ``path`` (a file removed meanwhile counts 0)."""
    total = 0
    for file in path.rglob("*"):
        try:
            total += file.stat().st_size if file.is_file() else 0
        except FileNotFoundError:
            continue
    return total


def slope_per_minute(points: Sequence[tuple[float, int]]) -> float | None:
    """Least-squares growth in bytes per minute of (seconds, bytes); None below 2 points."""
    if len({at for at, _ in points}) < 2:
        return None
    fitted = statistics.linear_regression([at for at, _ in points], [b for _, b in points])
    return fitted.slope * 60


def series_figures(samples: Sequence[MemorySample]) -> dict[str, dict[str, object]]:
    """Per process: resident MB at the first and last sample, its slope (MB per minute)
    over the whole series and over its second half (after the warm-up), the peak, and the
    series itself ([seconds, MB] pairs). A restarted process is a new series."""
    names = sorted({name for sample in samples for name in sample.rss})
    figures: dict[str, dict[str, object]] = {}
    for name in names:
        points = [(s.at_s, s.rss[name]) for s in samples if name in s.rss]
        slope = slope_per_minute(points)
        late = slope_per_minute(points[len(points) // 2 :])
        figures[name] = {
            "samples": len(points),
            "start_mb": _mb(points[0][1]),
            "end_mb": _mb(points[-1][1]),
            "peak_mb": _mb(max(b for _, b in points)),
            "slope_mb_per_min": None if slope is None else round(slope / 2**20, 3),
            "second_half_slope_mb_per_min": None if late is None else round(late / 2**20, 3),
            "series": [[at, _mb(b)] for at, b in points],
        }
    return figures


def disk_figures(samples: Sequence[MemorySample]) -> dict[str, float]:
    """The state directory's MB at the first and last sample."""
    return {"start_mb": _mb(samples[0].disk), "end_mb": _mb(samples[-1].disk)}


def _mb(value: int) -> float:
    return round(value / 2**20, 1)
