"""Fixtures of the mock contracts' titanoboa tests.

Deployers are compiled once at import; every test runs inside its own ``boa.env.anchor()``
so state never leaks between tests.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import boa
import pytest
from boa.contracts.vyper.vyper_contract import VyperContract, VyperDeployer

CONTRACTS = Path(__file__).resolve().parents[3] / "contracts"

MOCK_USDC: VyperDeployer = boa.load_partial(str(CONTRACTS / "mocks" / "MockUSDC.vy"))
MOCK_AGGREGATOR: VyperDeployer = boa.load_partial(str(CONTRACTS / "mocks" / "MockAggregator.vy"))

# The default feed: 100,000 USD at Chainlink's 8 decimals.
FEED_DECIMALS = 8
FEED_DESCRIPTION = "BTC / USD"
FEED_INITIAL_ANSWER = 100_000 * 10**FEED_DECIMALS


@pytest.fixture(autouse=True)
def _isolated_env() -> Iterator[None]:
    with boa.env.anchor():
        yield


@pytest.fixture
def deployer() -> str:
    return boa.env.generate_address("deployer")


@pytest.fixture
def trader() -> str:
    return boa.env.generate_address("trader")


@pytest.fixture
def keeper() -> str:
    return boa.env.generate_address("keeper")


@pytest.fixture
def usdc_deployer() -> VyperDeployer:
    return MOCK_USDC


@pytest.fixture
def aggregator_deployer() -> VyperDeployer:
    return MOCK_AGGREGATOR


@pytest.fixture
def usdc(deployer: str) -> VyperContract:
    with boa.env.prank(deployer):
        return MOCK_USDC.deploy()


@pytest.fixture
def initial_answer() -> int:
    return FEED_INITIAL_ANSWER


@pytest.fixture
def aggregator(deployer: str) -> VyperContract:
    with boa.env.prank(deployer):
        return MOCK_AGGREGATOR.deploy(FEED_DECIMALS, FEED_DESCRIPTION, FEED_INITIAL_ANSWER)
