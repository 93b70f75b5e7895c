"""The feedback cascade's pure parts: the index rule, the maker's book in the real engine,
and the figures of a run from synthetic rounds."""

from __future__ import annotations

import pytest

from perpdex.cli.main import main
from perpdex.core.types import Address, MarketId, Price, Size
from perpdex.core.units import to_price_units, to_size_units
from perpdex.sim.cascade.book import Book, Depth
from perpdex.sim.cascade.feedback import Feedback, reference
from perpdex.sim.cascade.metrics import (
    AccountEnd,
    FeedbackRun,
    Forced,
    PricePush,
    Round,
    Run,
    Sale,
    by_round,
    feedback_summary,
)
from perpdex.sim.cascade.simulate import market
from perpdex.sim.commands.cascade import weight_ppm

TICK = to_price_units("0.1")
KEEPER = Address("0x" + "44" * 20)


def usd(text: str) -> Price:
    return to_price_units(text)


def test_the_index_blends_book_and_external_path_down_to_the_tick() -> None:
    book, external = usd("90000"), usd("95000.3")
    assert Feedback(0).index(book, external, TICK) == external  # the fixed path
    assert Feedback(1_000_000).index(book, external, TICK) == book  # the book alone
    assert Feedback(500_000).index(book, external, TICK) == usd("92500.1")  # 92,500.15 down
    for bad in (-1, 1_000_001):
        with pytest.raises(ValueError):
            Feedback(bad)


def test_the_maker_follows_the_book_moved_by_the_external_step() -> None:
    # the book 0.05 under its reference after a sale, the outside market 1,000 lower
    assert reference(usd("99999.95"), usd("100000"), usd("99000"), TICK) == usd("98999.9")
    assert reference(usd("100000"), usd("100000"), usd("100000"), TICK) == usd("100000")


def test_the_weight_is_a_fraction_in_ppm() -> None:
    assert weight_ppm("1") == 1_000_000 and weight_ppm("0.25") == 250_000
    assert weight_ppm("0") == 0
    for bad in ("x", "-0.1", "1.5", "0.0000001"):
        with pytest.raises(ValueError):
            weight_ppm(bad)


def test_the_ladder_states_its_depth() -> None:
    depth = Depth(to_size_units("0.5"))
    spec = market()
    # levels 5 and 10 bps from the mid: 0.5 + 0.75 BTC; to 50 bps: 10 levels, 0.5 + 0.25 i
    assert depth.within(1_000, spec) == to_size_units("1.25")
    assert depth.within(5_000, spec) == to_size_units("16.25")
    assert depth.reach_ppm() == 10_000


def test_a_forced_sale_takes_bids_down_to_its_worst_price_and_lowers_the_mid() -> None:
    spec = market()
    book = Book(MarketId(0), spec, Depth(to_size_units("0.5")))
    book.requote(usd("100000"))
    assert book.mid() == usd("100000")
    # 1.25 BTC rests within 10 bps: 2 BTC down to 10 bps fills 1.25 and the rest is dropped
    sales = book.sell(KEEPER, to_size_units("2"), usd("99900"))
    assert sales == [
        Sale(usd("99950"), to_size_units("0.5")),
        Sale(usd("99900"), to_size_units("0.75")),
    ]
    assert book.mid() == (usd("99850") + usd("100050")) // 2  # the best bid is now 15 bps
    book.requote(usd("100000"))  # the maker's ladder is whole again
    assert book.mid() == usd("100000")
    assert book.sell(KEEPER, Size(to_size_units("0.0001") - 1), usd("99000")) == []  # < a lot


def run_of(rounds: list[Round], forced: list[Forced]) -> FeedbackRun:
    pushes = [PricePush(10 + 5 * i, r.index) for i, r in enumerate(rounds)]
    accounts = [AccountEnd("a", True, 10, 5)]
    return FeedbackRun(Run(pushes, forced, [], [], accounts), rounds, unsold=0, at_rest=True)


def test_the_figures_compare_the_index_with_the_external_path() -> None:
    one = to_size_units("1")
    rounds = [
        Round(usd("100000"), usd("100000"), usd("100000"), [], usd("100000")),
        Round(usd("96000"), usd("96000"), usd("96000"), [Sale(usd("95900"), one)], usd("95950")),
        Round(usd("94000"), usd("93950"), usd("93950"), [], usd("93950")),
    ]
    forced = [
        Forced("a", 16, one // 2, usd("96000"), full=False),  # round 1 (pushed in block 15)
        Forced("a", 20, one // 2, usd("93950"), full=False),  # round 2 (pushed in block 20)
    ]
    run = run_of(rounds, forced)
    assert by_round(run) == [0, 48_000 * 10**6, 46_975 * 10**6]
    figures = feedback_summary(run)
    assert figures["external_final"] == 94_000 and figures["index_final"] == 93_950
    assert figures["external_drawdown_pct"] == 6.0 and figures["index_drawdown_pct"] == 6.05
    assert figures["drawdown_from_liquidations_pct"] == 0.05  # points of the opening price
    assert figures["forced_volume_by_level"] == {"96000": 48_000.0, "93000": 46_975.0}
    assert figures["book_sales"] == 1.0 and figures["book_sales_vwap"] == 95_900.0
    assert figures["book_sales_by_level"] == {"95000": 95_900.0}
    assert figures["accounts_saved"] == 1
    assert "max_blocks_to_liquidation" not in figures
    assert [r["sold"] for r in figures["by_round"]] == [0.0, 1.0, 0.0]
    assert [r["book_after"] for r in figures["by_round"]] == [100_000, 95_950, 93_950]


@pytest.mark.parametrize(
    "flags",
    [
        ["--depth", "0.5"],  # without --feedback: refused, not ignored
        ["--feedback-weight", "0.5"],
        ["--feedback", "--depth", "0"],
        ["--feedback", "--depth", "0.00001"],  # under the lot
        ["--feedback", "--depth", "lots"],
        ["--feedback", "--feedback-weight", "1.5"],
    ],
)
def test_the_command_refuses_bad_feedback_flags_before_running(
    flags: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["sim", "cascade", *flags]) == 2
    assert capsys.readouterr().err.startswith("perpdex sim cascade: ")
