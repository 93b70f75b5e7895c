"""The Checkpoints contract for titanoboa tests: its deployer, heads, and the stored logs.

The contract is compiled once at import; each test deploys it inside its own
``boa.env.anchor()``, so state never leaks between tests.
"""

from __future__ import annotations

from pathlib import Path

import boa
from boa.contracts.vyper.vyper_contract import VyperContract, VyperDeployer

CONTRACTS = Path(__file__).resolve().parents[3] / "contracts"

CHECKPOINTS: VyperDeployer = boa.load_partial(str(CONTRACTS / "Checkpoints.vy"))

ZERO_HEAD = bytes(32)
GENESIS = (0, ZERO_HEAD, 0)  # (seq, head, timestamp) of checkpoint 0
MAX_UINT64 = 2**64 - 1
MAX_SHARD = 2**16 - 1  # a shard is a uint16


def head(n: int) -> bytes:
    """A distinct non-zero chain head for each ``n >= 1``."""
    return n.to_bytes(32, "big")


def stored(checkpoints: VyperContract, shard: int) -> list[tuple[int, bytes, int]]:
    """Every posted checkpoint ``(seq, head, timestamp)`` of ``shard``, index 1 first."""
    count = checkpoints.count(shard)
    return [checkpoints.checkpoint(shard, index) for index in range(1, count + 1)]


def posted_events(checkpoints: VyperContract, shard: int) -> list[tuple[int, int, bytes, int]]:
    """The ``CheckpointPosted`` events of the last call (view calls count too):
    ``(index, seq, head, timestamp)``; each must name ``shard``."""
    events = [log for log in checkpoints.get_logs() if type(log).__name__ == "CheckpointPosted"]
    assert {log.shard for log in events} <= {shard}
    return [(log.index, log.seq, log.head, log.timestamp) for log in events]
