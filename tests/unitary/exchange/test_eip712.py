"""The contract and ``perpdex.core.eip712`` agree on every EIP-712 term."""

from __future__ import annotations

from tests.unitary.exchange.venue import Venue

from perpdex.core.eip712 import typehash
from perpdex.core.types import TriggerDirection


def test_typehashes_match_python(venue: Venue) -> None:
    assert venue.exchange.ORDER_TYPEHASH() == typehash("Order")
    assert venue.exchange.CANCEL_TYPEHASH() == typehash("Cancel")


def test_trigger_direction_codes_match_python(venue: Venue) -> None:
    assert venue.exchange.TRIGGER_AT_OR_ABOVE() == TriggerDirection.AT_OR_ABOVE
    assert venue.exchange.TRIGGER_AT_OR_BELOW() == TriggerDirection.AT_OR_BELOW


def test_domain_separator_matches_python(venue: Venue) -> None:
    assert venue.exchange.domain_separator() == venue.domain.separator
    fields = venue.exchange.eip712Domain()
    assert (fields[1], fields[2], fields[4]) == (
        venue.domain.name,
        venue.domain.version,
        venue.exchange.address,
    )


def test_units_match_python(venue: Venue) -> None:
    from perpdex.core.units import units

    assert venue.exchange.SIZE_SCALE() == units().size_scale
    assert venue.exchange.PRICE_DECIMALS() == units().price_decimals
    assert venue.exchange.FRACTION_SCALE() == units().fraction_scale
