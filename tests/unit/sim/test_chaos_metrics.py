"""The chaos run's invariants from synthetic evidence (each counts what it claims, and
only that: a resubmitted or replayed fill is not a failure, a missing one is), its memory
figures from a real process tree, its kill schedule and options."""

from __future__ import annotations

import asyncio
import contextlib
import os
import subprocess
from pathlib import Path

import pytest

from perpdex.cli.main import main
from perpdex.core.types import Address, OrderHash
from perpdex.settlement.outcomes import RejectReason
from perpdex.sim.chaos import metrics, scenario
from perpdex.sim.chaos.memory import (
    MemorySample,
    directory_bytes,
    disk_figures,
    resident_bytes,
    series_figures,
    slope_per_minute,
    tree_sample,
)
from perpdex.sim.chaos.metrics import (
    ChainFill,
    ChainRejection,
    JournalFill,
    Received,
    StreamFill,
)
from perpdex.sim.chaos.report import INVARIANTS, passed, report
from perpdex.sim.chaos.scenario import ChaosParams, Evidence

MAKER, TAKER, OTHER = Address("0xmaker"), Address("0xtaker"), Address("0xother")
ASK, BID, BID2 = OrderHash(b"a" * 32), OrderHash(b"b" * 32), OrderHash(b"c" * 32)


def fill(taker_hash: OrderHash = BID, price: int = 100, size: int = 5) -> ChainFill:
    return ChainFill(MAKER, TAKER, ASK, taker_hash, price, size)


def both_sides(chain: ChainFill) -> dict[Address, Received]:
    """The two streams as they should be for ``chain``."""
    return {
        MAKER: Received([StreamFill(chain.maker_hash, True, chain.price, chain.size)]),
        TAKER: Received([StreamFill(chain.taker_hash, False, chain.price, chain.size)]),
    }


def test_an_acknowledged_order_missing_from_the_journal_is_lost() -> None:
    assert metrics.lost([ASK, BID, BID], {ASK}) == 1
    assert metrics.lost([ASK, BID], {ASK, BID, BID2}) == 0


def test_a_duplicate_filled_event_counts_as_settled_twice() -> None:
    assert metrics.settled_twice([fill(), fill(BID2)]) == 0
    assert metrics.settled_twice([fill(), fill(BID2), fill()]) == 1
    assert metrics.settled_twice([fill(), fill(), fill()]) == 1  # one fill, settled thrice


def test_a_settled_fill_the_maker_stream_missed_is_a_stream_gap() -> None:
    settled = fill()
    streams = both_sides(settled)
    assert metrics.stream_gaps([settled], streams) == 0
    streams[MAKER].fills.clear()
    assert metrics.stream_gaps([settled], streams) == 1


def test_a_fill_replayed_after_a_resume_is_no_gap() -> None:
    settled = fill()
    streams = both_sides(settled)
    streams[MAKER].fills *= 2
    assert metrics.stream_gaps([settled], streams) == 0


def test_a_replayed_fill_does_not_cover_a_fill_of_another_order() -> None:
    first, second = fill(), fill(BID2)
    streams = both_sides(first)
    streams[MAKER].fills *= 2  # the maker's ask filled twice at the same price and size
    streams[TAKER].fills *= 2  # BID's fill twice, BID2's never
    assert metrics.stream_gaps([first, second], streams) == 1


def test_a_fill_of_the_wrong_size_or_side_does_not_cover_a_settled_one() -> None:
    settled = fill()
    streams = both_sides(settled)
    streams[TAKER] = Received([StreamFill(BID, False, 100, 4)])
    streams[MAKER] = Received([StreamFill(ASK, False, 100, 5)])
    assert metrics.stream_gaps([settled], streams) == 2


def test_only_observed_traders_streams_are_compared() -> None:
    settled = ChainFill(OTHER, TAKER, ASK, BID, 100, 5)
    assert metrics.stream_gaps([settled], {TAKER: both_sides(fill())[TAKER]}) == 0


def journal(*keys: tuple[OrderHash, OrderHash]) -> dict[tuple[OrderHash, OrderHash], JournalFill]:
    return {key: JournalFill(key, MAKER, TAKER) for key in keys}


def test_a_rejection_only_one_trader_heard_of_is_unreported() -> None:
    key = (ASK, BID)
    streams = {MAKER: Received(rejected={ASK}), TAKER: Received()}
    assert metrics.unreported_rejections(journal(key), {key}, set(), streams) == 1
    streams[TAKER].rejected.add(BID)
    assert metrics.unreported_rejections(journal(key), {key}, set(), streams) == 0


def test_a_frame_naming_another_order_does_not_report_the_rejection() -> None:
    key = (ASK, BID)
    streams = {MAKER: Received(rejected={ASK}), TAKER: Received(rejected={BID2})}
    assert metrics.unreported_rejections(journal(key), {key}, set(), streams) == 1


def test_a_fill_the_batcher_dropped_is_a_rejection_to_report() -> None:
    matched = journal((ASK, BID), (ASK, BID2))
    settled = [fill()]
    never = metrics.dropped(matched.values(), settled, [])
    assert never == {(ASK, BID2)}
    streams = {MAKER: Received(), TAKER: Received()}
    assert metrics.unreported_rejections(matched, set(), never, streams) == 1


def test_a_rejection_of_an_already_settled_fill_is_not_a_rejected_fill() -> None:
    """A settlement runner that resubmits after a restart meets the contract's guard: the
    fill settled once and both traders got it."""
    settled = [fill()]
    again = [ChainRejection((ASK, BID), RejectReason.OVERFILL)]
    assert metrics.refused(settled, again) == set()
    other = ChainRejection((ASK, BID2), RejectReason.FEE_ABOVE_MAX)
    assert metrics.refused(settled, [*again, other]) == {(ASK, BID2)}
    assert metrics.dropped(journal((ASK, BID), (ASK, BID2)).values(), settled, [other]) == set()


def test_a_rejection_the_journal_cannot_attribute_is_unreported() -> None:
    streams = {MAKER: Received(rejected={ASK}), TAKER: Received(rejected={BID})}
    assert metrics.unreported_rejections({}, {(ASK, BID)}, set(), streams) == 1


def test_memory_slope_is_the_least_squares_growth_per_minute() -> None:
    assert slope_per_minute([(0.0, 100), (30.0, 150), (60.0, 200)]) == 100.0
    assert slope_per_minute([(0.0, 100)]) is None
    mb = 2**20
    samples = [
        MemorySample(0.0, {"node#1": 100 * mb}),
        MemorySample(60.0, {"node#1": 110 * mb, "node#2": 50 * mb}),
        MemorySample(120.0, {"node#2": 70 * mb}),
    ]
    figures = series_figures(samples)
    assert figures["node#1"]["start_mb"] == 100.0
    assert figures["node#1"]["end_mb"] == 110.0
    assert figures["node#1"]["slope_mb_per_min"] == 10.0
    assert figures["node#1"]["second_half_slope_mb_per_min"] is None  # one point
    assert figures["node#2"]["samples"] == 2
    assert figures["node#2"]["peak_mb"] == 70.0
    assert figures["node#2"]["second_half_slope_mb_per_min"] is None


def test_one_failing_invariant_fails_the_run() -> None:
    clean = {name: 0 for name in INVARIANTS} | {"offchain_equals_chain": True, "audit_ok": True}
    assert passed(clean)
    for name in INVARIANTS:
        assert not passed(clean | {name: 1})
    assert not passed(clean | {"offchain_equals_chain": False})
    assert not passed(clean | {"audit_ok": False})


def test_a_process_tree_sample_holds_the_process_and_each_child() -> None:
    child = subprocess.Popen(["sleep", "30"])
    try:
        sample = tree_sample(os.getpid())
        assert sample["node"] > 1_000_000  # this Python process, resident
        assert sample[f"worker-{child.pid}"] > 0
    finally:
        child.kill()
        child.wait()
    assert resident_bytes(child.pid) is None


@pytest.mark.parametrize(
    "argv",
    [["--kills", "-1"], ["--duration", "0"], ["--soak", "-5"], ["--sample-interval", "0"]],
)
def test_bad_chaos_options_are_refused_before_anything_starts(
    argv: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["sim", "chaos", *argv]) == 2
    assert "perpdex sim chaos: " in capsys.readouterr().err


def test_kill_moments_are_seeded_sorted_and_inside_the_trading() -> None:
    params = ChaosParams(kills=5, seed=7, duration_s=100.0)
    moments = params.kill_moments()
    assert moments == sorted(moments) == ChaosParams(kills=5, seed=7, duration_s=100).kill_moments()
    assert all(10.0 <= moment <= 80.0 for moment in moments)
    assert moments != ChaosParams(kills=5, seed=8, duration_s=100.0).kill_moments()


def test_the_state_directory_size_counts_every_file_below_it(tmp_path: Path) -> None:
    (tmp_path / "chain" / "accounts").mkdir(parents=True)
    (tmp_path / "chain" / "journal.bin").write_bytes(b"j" * 1000)
    (tmp_path / "chain" / "accounts" / "store.sqlite").write_bytes(b"s" * 24)
    assert directory_bytes(tmp_path) == 1024
    samples = [MemorySample(0.0, {}, 0), MemorySample(30.0, {}, 3 * 2**20)]
    assert disk_figures(samples) == {"start_mb": 0.0, "end_mb": 3.0}


def test_the_report_counts_a_dropped_fill_both_traders_heard_of_as_reported() -> None:
    settled, dropped = fill(), (ASK, BID2)
    streams = both_sides(settled)
    for trader, order_hash in ((MAKER, ASK), (TAKER, BID2)):
        streams[trader].rejected.add(order_hash)
        streams[trader].reasons["MARGIN_CHECK_FAILED"] += 1
    evidence = Evidence(
        acked=[ASK, BID, BID2],
        received=streams,
        settled=[settled],
        rejected=[ChainRejection(settled.key, RejectReason.ORDER_CLOSED)],
        journaled={ASK, BID, BID2},
        journal=journal(settled.key, dropped),
        differences=[],
        audit={"ok": True},
    )
    figures = report(ChaosParams(kills=0), evidence)
    assert passed(figures)
    assert figures["acked"] == 3
    assert figures["fills_never_settled"] == 1
    assert figures["fills_rejected"] == 0
    assert figures["rejections_of_settled_fills"] == 1
    assert figures["stream_rejections_by_reason"] == {"MARGIN_CHECK_FAILED": 2}
    streams[TAKER].rejected.clear()
    assert report(ChaosParams(kills=0), evidence)["unreported_rejections"] == 1


def test_a_bot_that_ignores_its_cancellation_is_logged_instead_of_hanging_the_stop(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setattr(scenario, "STOP_TIMEOUT_S", 0.2)
    released = asyncio.Event()

    async def stubborn() -> None:  # as a 3.11 wait_for that swallowed the cancel
        while not released.is_set():
            with contextlib.suppress(asyncio.CancelledError):
                await asyncio.sleep(10)

    async def body() -> None:
        task = asyncio.create_task(stubborn())
        polite = asyncio.create_task(asyncio.sleep(10))
        await asyncio.sleep(0)
        await scenario._stopped([task, polite])
        assert polite.cancelled() and not task.done()
        released.set()
        task.cancel()
        await task

    asyncio.run(body())
    assert "a task ignored its cancellation" in caplog.text
    assert "stubborn" in caplog.text
