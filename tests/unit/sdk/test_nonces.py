"""Nonces never repeat: across allocators, processes and restarts, and never under the floor."""

from __future__ import annotations

import multiprocessing
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from perpdex.sdk.nonces import CLOCK_SHIFT, NonceAllocator


def _allocate(path: str, count: int, lease: int) -> list[int]:
    allocator = NonceAllocator(Path(path), lease=lease)
    return [allocator.next() for _ in range(count)]


@settings(max_examples=30, deadline=None)
@given(
    picks=st.lists(st.sampled_from([0, 1, 2]), max_size=120),
    leases=st.tuples(*(st.integers(1, 5) for _ in range(3))),
)
def test_interleaved_allocators_and_restarts_never_collide(
    tmp_path_factory: object, picks: list[int], leases: tuple[int, int, int]
) -> None:
    # allocator 2 is replaced by a fresh one (a restart) every time it is picked twice
    path = Path(str(tmp_path_factory.mktemp("n"))) / "trader"  # type: ignore[attr-defined]
    allocators = [NonceAllocator(path, lease=lease) for lease in leases]
    seen: set[int] = set()
    for turn, pick in enumerate(picks):
        if pick == 2 and turn % 2:
            allocators[2] = NonceAllocator(path, lease=leases[2])
        nonce = allocators[pick].next()
        assert nonce not in seen
        seen.add(nonce)


def test_two_processes_get_disjoint_nonces(tmp_path: Path) -> None:
    path = str(tmp_path / "trader")
    with multiprocessing.get_context("spawn").Pool(2) as pool:
        first, second = pool.starmap(_allocate, [(path, 300, 3), (path, 300, 7)])
    assert len(set(first) | set(second)) == 600


def test_a_restart_starts_above_every_leased_nonce(tmp_path: Path) -> None:
    before = NonceAllocator(tmp_path / "t", lease=10)
    used = [before.next() for _ in range(3)]  # 7 more are leased, unused
    after = NonceAllocator(tmp_path / "t", lease=10)
    assert after.next() == used[0] + 10


def test_a_fresh_file_starts_at_the_clock(tmp_path: Path) -> None:
    allocator = NonceAllocator(tmp_path / "t", clock=lambda: 1_700_000_000.9)
    assert allocator.next() == 1_700_000_000 << CLOCK_SHIFT
    # a wiped state dir later on: the clock has moved past every nonce the old file reached
    (tmp_path / "t").unlink()
    later = NonceAllocator(tmp_path / "t", clock=lambda: 1_700_000_001.0)
    assert later.next() > allocator.next()


def test_nonces_skip_to_the_observed_floor(tmp_path: Path) -> None:
    allocator = NonceAllocator(tmp_path / "t", clock=lambda: 0.0)
    assert allocator.next() == 0
    allocator.observe_floor(100)
    assert allocator.next() == 100
    allocator.observe_floor(50)  # the floor never goes down
    assert allocator.next() == 101


def test_reserved_floor_is_above_every_process_lease(tmp_path: Path) -> None:
    mine = NonceAllocator(tmp_path / "t", lease=5, clock=lambda: 0.0)
    other = NonceAllocator(tmp_path / "t", lease=5)
    issued = [mine.next(), other.next(), other.next()]
    floor = mine.reserve_floor()
    assert floor > max(issued)
    assert floor == 10  # both leases end below it
    assert mine.next() >= floor
    assert NonceAllocator(tmp_path / "t").next() >= floor
