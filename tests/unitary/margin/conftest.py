"""Fixtures of the margin tests: one pure MarginHarness per module, and an Exchange whose
state each test gets fresh inside its own ``boa.env.anchor()``."""

from __future__ import annotations

from collections.abc import Iterator

import boa
import pytest
from boa.contracts.vyper.vyper_contract import VyperContract
from tests.unitary.exchange.venue import Venue, deploy_venue
from tests.unitary.margin.harness import HARNESS


@pytest.fixture(scope="module")
def harness() -> VyperContract:
    return HARNESS.deploy()


@pytest.fixture(scope="module")
def deployed_venue() -> Iterator[Venue]:
    with boa.env.anchor():
        yield deploy_venue()


@pytest.fixture
def venue(deployed_venue: Venue) -> Iterator[Venue]:
    with boa.env.anchor():
        yield deployed_venue
