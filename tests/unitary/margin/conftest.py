"""One MarginHarness per module: its functions are pure, so examples cannot interfere."""

from __future__ import annotations

import pytest
from boa.contracts.vyper.vyper_contract import VyperContract
from tests.unitary.margin.harness import HARNESS


@pytest.fixture(scope="module")
def harness() -> VyperContract:
    return HARNESS.deploy()
