"""One real anvil per test session (per xdist worker), shared by the integration tests."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from web3 import Web3

from perpdex.chain.anvil import Anvil
from perpdex.chain.artifacts import contracts_dir
from perpdex.chain.transact import connect


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "needs_exchange: skipped while contracts/Exchange.vy does not exist"
    )


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    if (contracts_dir() / "Exchange.vy").exists():
        return
    skip = pytest.mark.skip(reason="contracts/Exchange.vy not written yet")
    for item in items:
        if item.get_closest_marker("needs_exchange"):
            item.add_marker(skip)


@pytest.fixture(scope="session")
def anvil() -> Iterator[Anvil]:
    with Anvil() as node:
        yield node


@pytest.fixture(scope="session")
def web3(anvil: Anvil) -> Web3:
    return connect(anvil.rpc_url)


@pytest.fixture
def abi_dir(tmp_path: Path) -> Path:
    return tmp_path / "abi"
