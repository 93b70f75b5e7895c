"""The asyncio unified client: ``from perpdex.ccxt.async_support import perpdex``."""

from perpdex.ccxt.async_support.exchange import perpdex
from perpdex.ccxt.errors import *  # noqa: F403 (as ccxt.async_support exports them)
from perpdex.ccxt.errors import __all__ as _errors

exchanges = ["perpdex"]

__all__ = ["exchanges", "perpdex", *_errors]
