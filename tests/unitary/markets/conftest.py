"""The Markets tests run on the same venue and actors as the Exchange's."""

from tests.unitary.exchange.conftest import (
    _isolated_env,
    liquidator,
    maker,
    outsider,
    trader,
    venue,
)

__all__ = ["_isolated_env", "liquidator", "maker", "outsider", "trader", "venue"]
