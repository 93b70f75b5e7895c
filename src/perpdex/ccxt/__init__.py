"""A ccxt-style unified client of perpdex: ``from perpdex.ccxt import perpdex`` (blocking)
or ``from perpdex.ccxt.async_support import perpdex`` (asyncio), and ccxt's error classes,
so ``import perpdex.ccxt as ccxt`` keeps a bot's ``except ccxt.InsufficientFunds``."""

from perpdex.ccxt.blocking import perpdex
from perpdex.ccxt.errors import *  # noqa: F403 (ccxt exports its errors at the top level)
from perpdex.ccxt.errors import __all__ as _errors

exchanges = ["perpdex"]

__all__ = ["exchanges", "perpdex", *_errors]
