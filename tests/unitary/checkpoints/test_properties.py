"""Any sequence of posts and batches, by anyone, to any of three shards, keeps each shard's
log gapless and append-only, and no shard's calls ever touch another's log.

A reference model (one log per shard) decides which calls must succeed and why the others
revert; after every call each shard's stored log equals its model, and after the sequence
each log's indices are 1..count with one event each (naming the shard), and its seqs
strictly increase.
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


SHARDS = (0, 1, 2**16 - 1)


@dataclass(frozen=True)
class Step:
    shard: int
    by_operator: bool
    batch: bool  # else a single post of the first point
    points: list[tuple[int, bool]]  # (seq offset from the point before, zero head?)
    wait: int  # seconds before the call


def rarely(chance: int) -> st.SearchStrategy[bool]:
    return st.integers(1, chance).map(lambda n: n == 1)


steps = st.builds(
    Step,
    shard=st.sampled_from(SHARDS),
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


def call(checkpoints: VyperContract, step: Step, seqs: list[int], heads: list[bytes]) -> None:
    if step.batch:
        checkpoints.post_batch(step.shard, list(zip(seqs, heads, strict=True)))
    else:
        checkpoints.post(step.shard, seqs[0], heads[0])


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
        models: dict[int, Log] = {shard: [] for shard in SHARDS}
        indices: dict[int, list[int]] = {shard: [] for shard in SHARDS}
        for step in plan:
            model = models[step.shard]
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
                        call(checkpoints, step, seqs, heads)
                else:
                    call(checkpoints, step, seqs, heads)
                    events = posted_events(checkpoints, step.shard)
                    indices[step.shard] += [index for index, *_ in events]
                    now = boa.env.evm.patch.timestamp
                    model += [(s, h, now) for s, h in zip(seqs, heads, strict=True)]
            assert {s: stored(checkpoints, s) for s in SHARDS} == models

        for shard, model in models.items():
            assert indices[shard] == list(range(1, len(model) + 1))
            assert checkpoints.count(shard) == len(model)
            assert all(a[0] < b[0] for a, b in pairwise(model))
