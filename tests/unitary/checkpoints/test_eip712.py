"""The contract and ``perpdex.core.eip712`` agree on the receipt's EIP-712 terms."""

from __future__ import annotations

from boa.contracts.vyper.vyper_contract import VyperContract
from tests.unitary.checkpoints.receipts import domain_of

from perpdex.core.eip712 import typehash


def test_receipt_typehash_matches_python(checkpoints: VyperContract) -> None:
    assert checkpoints.RECEIPT_TYPEHASH() == typehash("Receipt")


def test_domain_is_the_checkpoints_contract(checkpoints: VyperContract) -> None:
    domain = domain_of(checkpoints)
    fields = checkpoints.eip712Domain()
    assert (fields[1], fields[2], fields[3], fields[4]) == (
        domain.name,
        domain.version,
        domain.chain_id,
        checkpoints.address,
    )
