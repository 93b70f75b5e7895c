"""Fixtures of the Checkpoints contract's titanoboa tests: one anchor per test."""

from __future__ import annotations

from collections.abc import Iterator

import boa
import pytest
from boa.contracts.vyper.vyper_contract import VyperContract
from tests.unitary.checkpoints.log import CHECKPOINTS
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


@pytest.fixture
def checkpoints(admin: str, operator: str) -> VyperContract:
    with boa.env.prank(admin):
        return CHECKPOINTS.deploy(operator)
