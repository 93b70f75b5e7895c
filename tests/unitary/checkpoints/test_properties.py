"""Any sequence of posts and batches, by anyone, keeps the log gapless and append-only.

A reference model decides which calls must succeed and why the others revert; after every
sequence the stored log equals the model, its indices are 1..count with one event each,
and its seqs strictly increase.
"""

from __future__ import annotations

from dataclasses import dataclass
from itertools import pairwise

import boa
from boa.contracts.vyper.vyper_contract import VyperContract
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from tests.unitary.checkpoints.log import CHECKPOINTS, ZERO_HEAD, head, posted_events, stored

Log = list[tuple[int, bytes, int]]  # (seq, head, timestamp) by index - 1


@dataclass(frozen=True)
class Step:
    by_operator: bool
    batch: bool  # else a single post of the first point
    points: list[tuple[int, bool]]  # (seq offset from the point before, zero head?)
    wait: int  # seconds before the call


def rarely(chance: int) -> st.SearchStrategy[bool]:
    return st.integers(1, chance).map(lambda n: n == 1)


steps = st.builds(
    Step,
    by_operator=rarely(4).map(lambda outsider: not outsider),
    batch=st.booleans(),
    points=st.lists(st.tuples(st.integers(-3, 5), rarely(8)), min_size=1, max_size=4),
    wait=st.integers(0, 100),
)


def refusal(log: Log, by_operator: bool, seqs: list[int], heads: list[bytes]) -> str | None:
    """Why the contract must refuse these checkpoints (None: it accepts them)."""
    if not by_operator:
        return "checkpoints: caller is not the operator"
    last = log[-1][0] if log else 0
    for seq, point_head in zip(seqs, heads, strict=True):
        if point_head == ZERO_HEAD:
            return "checkpoints: zero head"
        if seq <= last:
            return "checkpoints: seq not above the latest"
        last = seq
    return None


def call(checkpoints: VyperContract, batch: bool, seqs: list[int], heads: list[bytes]) -> None:
    if batch:
        checkpoints.post_batch(list(zip(seqs, heads, strict=True)))
    else:
        checkpoints.post(seqs[0], heads[0])


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(plan=st.lists(steps, max_size=12))
def test_posts_keep_the_log_gapless_and_increasing(
    admin: str, operator: str, outsider: str, plan: list[Step]
) -> None:
    with boa.env.anchor():
        with boa.env.prank(admin):
            checkpoints = CHECKPOINTS.deploy(operator)
        model: Log = []
        indices: list[int] = []
        for step in plan:
            points = step.points if step.batch else step.points[:1]
            seqs: list[int] = []
            heads: list[bytes] = []
            seq = model[-1][0] if model else 0
            for offset, zero in points:
                seq = max(0, seq + offset)
                seqs.append(seq)
                heads.append(ZERO_HEAD if zero else head(len(model) + len(heads) + 1))
            boa.env.time_travel(seconds=step.wait)
            reason = refusal(model, step.by_operator, seqs, heads)
            event(reason or "accepted")
            with boa.env.prank(operator if step.by_operator else outsider):
                if reason is not None:
                    with boa.reverts(reason):
                        call(checkpoints, step.batch, seqs, heads)
                    continue
                call(checkpoints, step.batch, seqs, heads)
            indices += [index for index, *_ in posted_events(checkpoints)]
            now = boa.env.evm.patch.timestamp
            model += [(s, h, now) for s, h in zip(seqs, heads, strict=True)]

        assert stored(checkpoints) == model
        assert indices == list(range(1, len(model) + 1))
        assert checkpoints.count() == len(model)
        assert all(a[0] < b[0] for a, b in pairwise(model))
