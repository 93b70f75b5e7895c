"""Leverage per trader per market: a cap a trader sets below the market's maximum, which
the pre-trade check enforces (docs/architecture.md, "Leverage").

The contract knows one leverage per market, its maximum: the initial margin fraction IMR
(``Markets.risk``) makes it ``1 / IMR``. A trader who wants less (a bot's bug must not
open a position at 20x on an account meant for 3x) sets it over a logged-in connection;
the check then values every requirement of the market at ``max(IMR, 1 / leverage)``.
Settings are kept in SQLite beside the journal (``leverage.sqlite``), which the journal
cannot rebuild: they are not engine commands, and a restart must not lift a cap.
"""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Mapping
from dataclasses import replace
from decimal import Decimal

from perpdex.core.leverage import margin_fraction
from perpdex.core.margin import MarginParams, MarginPpm
from perpdex.core.types import Address, MarketId
from perpdex.risk.ledger import MarketState

MEMORY = ":memory:"


def capped(
    markets: Mapping[MarketId, MarketState], fractions: Mapping[MarketId, MarginPpm]
) -> Mapping[MarketId, MarketState]:
    """``markets`` with each initial margin fraction raised to the trader's ``fractions``
    where those are higher (the markets themselves when the trader set none)."""
    if not fractions:
        return markets
    raised = dict(markets)
    for market, fraction in fractions.items():
        state = markets.get(market)
        if state is not None and fraction > state.params.initial_margin_ppm:
            params = MarginParams(fraction, state.params.maintenance_margin_ppm)
            raised[market] = replace(state, params=params)
    return raised


class LeverageStore:
    """Every trader's settings, in memory for the checks and in SQLite for restarts."""

    def __init__(self, path: str | os.PathLike[str] = MEMORY) -> None:
        self._db = sqlite3.connect(path)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute(
            "CREATE TABLE IF NOT EXISTS leverage (trader TEXT NOT NULL, market INTEGER NOT NULL,"
            " leverage TEXT NOT NULL, PRIMARY KEY (trader, market)) WITHOUT ROWID"
        )
        self._db.commit()
        self._settings: dict[Address, dict[MarketId, Decimal]] = {}
        self._fractions: dict[Address, dict[MarketId, MarginPpm]] = {}
        for trader, market, leverage in self._db.execute("SELECT * FROM leverage"):
            self._remember(Address(trader), MarketId(market), Decimal(leverage))

    def settings(self) -> list[tuple[Address, MarketId, Decimal]]:
        """Every trader's every setting."""
        return [
            (trader, market, leverage)
            for trader, markets in self._settings.items()
            for market, leverage in markets.items()
        ]

    def of(self, trader: Address) -> Mapping[MarketId, Decimal]:
        return self._settings.get(trader, {})

    def fractions(self, trader: Address) -> Mapping[MarketId, MarginPpm]:
        """The trader's ``1 / leverage`` per market it set one in."""
        return self._fractions.get(trader, {})

    def set(self, trader: Address, market: MarketId, leverage: Decimal) -> None:
        """Durable (committed, fsynced by SQLite) before it returns."""
        with self._db:
            self._db.execute(
                "INSERT OR REPLACE INTO leverage VALUES (?, ?, ?)", (trader, market, str(leverage))
            )
        self._remember(trader, market, leverage)

    def close(self) -> None:
        self._db.close()

    def _remember(self, trader: Address, market: MarketId, leverage: Decimal) -> None:
        self._settings.setdefault(trader, {})[market] = leverage
        self._fractions.setdefault(trader, {})[market] = margin_fraction(leverage)
