"""Fixtures of the Checkpoints contract's titanoboa tests: one anchor per test."""

from __future__ import annotations

from collections.abc import Iterator

import boa
import pytest
from boa.contracts.vyper.vyper_contract import VyperContract
from tests.unitary.checkpoints.log import CHECKPOINTS, MAX_SHARD
from tests.unitary.checkpoints.receipts import OPERATOR_KEY, OUTSIDER_KEY


@pytest.fixture(autouse=True)
def _isolated_env() -> Iterator[None]:
    with boa.env.anchor():
        yield


@pytest.fixture
def admin() -> str:
    return boa.env.generate_address("admin")


@pytest.fixture
def operator() -> str:
    """The operator's address; its key (``OPERATOR_KEY``) signs receipts."""
    return OPERATOR_KEY.address


@pytest.fixture
def outsider() -> str:
    return OUTSIDER_KEY.address


@pytest.fixture(params=[0, MAX_SHARD], ids=["shard-0", "max-shard"])
def shard(request: pytest.FixtureRequest) -> int:
    """The shard whose log a test drives: the embedded node's, and the highest a uint16
    names (its key takes every bit the contract gives a shard)."""
    return int(request.param)


@pytest.fixture
def checkpoints(admin: str, operator: str) -> VyperContract:
    with boa.env.prank(admin):
        return CHECKPOINTS.deploy(operator)
