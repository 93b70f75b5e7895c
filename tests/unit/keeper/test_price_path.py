"""Price paths: files of prices or time,price rows, and the seeded random walk."""

from __future__ import annotations

import itertools
from pathlib import Path

import pytest

from perpdex.core.types import Price
from perpdex.core.units import to_price_units
from perpdex.keeper.price_path import PricePathError, PricePoint, RandomWalk, load_path


def test_one_price_per_line_is_paced_by_the_step(tmp_path: Path) -> None:
    file = tmp_path / "path.txt"
    file.write_text("# BTC\n100000\n\n99000.5  # a drop\n98000\n")
    assert load_path(file, step_s=2.0) == [
        PricePoint(0.0, to_price_units("100000")),
        PricePoint(2.0, to_price_units("99000.5")),
        PricePoint(4.0, to_price_units("98000")),
    ]


def test_csv_rows_keep_their_times_from_the_first(tmp_path: Path) -> None:
    file = tmp_path / "path.csv"
    file.write_text("time,price\n1000,3000\n1005,2900.25\n1030,2800\n")
    assert load_path(file, step_s=1.0) == [
        PricePoint(0.0, to_price_units("3000")),
        PricePoint(5.0, to_price_units("2900.25")),
        PricePoint(30.0, to_price_units("2800")),
    ]


@pytest.mark.parametrize("text", ["abc\n", "1,2,3\n", "100\n-5\n", "", "1.0000001\n"])
def test_a_bad_file_names_its_problem(tmp_path: Path, text: str) -> None:
    file = tmp_path / "bad.txt"
    file.write_text(text)
    with pytest.raises(PricePathError):
        load_path(file, step_s=1.0)


def test_the_random_walk_is_seeded_on_the_tick_grid_and_positive() -> None:
    walk = RandomWalk(seed=7, start=to_price_units("100000"), tick=to_price_units("0.1"))
    first = list(itertools.islice(walk, 500))
    assert first == list(itertools.islice(walk, 500))  # same seed, same path
    assert first[0] == PricePoint(0.0, to_price_units("100000"))
    assert [p.at_s for p in first[:3]] == [0.0, 1.0, 2.0]
    assert all(p.price > 0 and p.price % to_price_units("0.1") == 0 for p in first)
    assert len({p.price for p in first}) > 100  # it moves
    other = list(itertools.islice(RandomWalk(8, first[0].price, Price(1)), 500))
    assert other != first


def test_a_random_walk_never_falls_below_one_tick() -> None:
    walk = RandomWalk(seed=1, start=Price(3), tick=Price(1), volatility_ppm=900_000)
    assert all(p.price >= 1 for p in itertools.islice(walk, 300))
