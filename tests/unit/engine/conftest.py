"""Fixtures of the engine tests."""

from __future__ import annotations

import pytest
from tests.unit.engine.engine_testing import Harness


@pytest.fixture
def harness() -> Harness:
    return Harness()
