"""Fixtures of the titanoboa tests on the deployed venue (Exchange, Markets, Liquidations): one
deployment per module, one anchor per test. The markets and liquidations folders reuse them."""

from __future__ import annotations

from collections.abc import Iterator

import boa
import pytest
from tests.unitary.exchange.venue import Actor, Venue, actor, deploy_venue


@pytest.fixture(scope="module")
def venue() -> Venue:
    return deploy_venue()


@pytest.fixture(autouse=True)
def _isolated_env(venue: Venue) -> Iterator[None]:
    with boa.env.anchor():
        yield


@pytest.fixture
def trader() -> Actor:
    return actor("trader")


@pytest.fixture
def maker() -> Actor:
    return actor("maker")


@pytest.fixture
def outsider() -> Actor:
    return actor("outsider")


@pytest.fixture
def liquidator() -> Actor:
    return actor("liquidator")
