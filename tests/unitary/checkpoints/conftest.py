"""Fixtures of the Checkpoints contract's titanoboa tests: one anchor per test."""

from __future__ import annotations

from collections.abc import Iterator

import boa
import pytest
from boa.contracts.vyper.vyper_contract import VyperContract
from tests.unitary.checkpoints.log import CHECKPOINTS


@pytest.fixture(autouse=True)
def _isolated_env() -> Iterator[None]:
    with boa.env.anchor():
        yield


@pytest.fixture
def admin() -> str:
    return boa.env.generate_address("admin")


@pytest.fixture
def operator() -> str:
    return boa.env.generate_address("operator")


@pytest.fixture
def outsider() -> str:
    return boa.env.generate_address("outsider")


@pytest.fixture
def checkpoints(admin: str, operator: str) -> VyperContract:
    with boa.env.prank(admin):
        return CHECKPOINTS.deploy(operator)
