"""One real anvil per test session (per xdist worker), shared by the integration tests."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from web3 import Web3

from perpdex.chain.anvil import Anvil
from perpdex.chain.transact import connect


@pytest.fixture(scope="session")
def anvil() -> Iterator[Anvil]:
    with Anvil() as node:
        yield node


@pytest.fixture(scope="session")
def web3(anvil: Anvil) -> Web3:
    return connect(anvil.rpc_url)
