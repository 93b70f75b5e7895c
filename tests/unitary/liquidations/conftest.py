"""The liquidation tests run on the same venue and actors as the Exchange's."""

import pytest
from tests.unitary.exchange.conftest import (
    _isolated_env,
    liquidator,
    maker,
    outsider,
    trader,
    venue,
)
from tests.unitary.exchange.venue import USDC, Actor, Venue
from tests.unitary.liquidations.crash import GAP, crash, open_thin_long

__all__ = ["_isolated_env", "liquidator", "maker", "outsider", "trader", "venue"]


@pytest.fixture
def bankrupt(venue: Venue, trader: Actor, maker: Actor, liquidator: Actor) -> Venue:
    """``trader`` is long 0.1 BTC against ``maker``'s short and 405 USDC under water."""
    open_thin_long(venue, trader, maker, liquidator)
    crash(venue, GAP)
    assert venue.exchange.cross_health(trader.address).equity == -405 * USDC
    return venue
