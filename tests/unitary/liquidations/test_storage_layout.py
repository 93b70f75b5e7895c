"""The Liquidations extension runs on the Exchange's storage (``DELEGATECALL``): both must
lay it out identically, all of it inside the ``ledger`` module."""

from __future__ import annotations

import pytest
from tests.unitary.exchange.venue import EXCHANGE, LIQUIDATIONS
from vyper.compiler.output import build_layout_output


@pytest.mark.parametrize("kind", ["storage_layout", "transient_storage_layout"])
def test_exchange_and_extension_share_one_layout(kind: str) -> None:
    exchange = build_layout_output(EXCHANGE.compiler_data)[kind]
    extension = build_layout_output(LIQUIDATIONS.compiler_data)[kind]
    assert exchange == extension
    # nothing outside the shared module, where the two could drift apart
    assert set(exchange) == {"ledger"}
