"""Where the liquidator learns which accounts hold positions and how healthy they are.

:class:`AccountSource` is the interface the liquidator consumes; the position manager
(``perpdex.risk``) can implement it from its fold. :class:`ChainAccounts` implements it on
its own: it learns traders from the Exchange's ``Deposited``, ``Filled``, ``Liquidated``
and ``Deleveraged`` logs since the deployment's start block, and reads each one's health
from the Exchange's views (``cross_health``, ``isolated_health``, ``position``,
``funding_owed``), all at one block, so a view is never a mix of two states.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final, Protocol

from eth_utils.abi import event_abi_to_log_topic
from web3 import Web3
from web3.contract import Contract

from perpdex.core.margin import Health
from perpdex.core.types import Address, Collateral, MarketId, Price, Size

BLOCKS_PER_QUERY: Final = 2_000
_TRADER_EVENTS: Final = {
    "Deposited": ("trader",),
    "Filled": ("maker", "taker"),
    "Liquidated": ("trader", "liquidator"),
    "Deleveraged": ("trader", "counterparty"),
}


@dataclass(frozen=True, slots=True)
class PositionView:
    """One open position: ``funding`` is what it would settle now (> 0 received);
    ``health`` is the isolated position's own (None for a cross position)."""

    market: MarketId
    size: Size
    quote: Collateral
    isolated: bool
    funding: Collateral
    health: Health | None


@dataclass(frozen=True, slots=True)
class AccountView:
    """An account's cross health and open positions, as of ``block``."""

    trader: Address
    cross: Health
    positions: tuple[PositionView, ...]
    block: int

    def position(self, market: MarketId) -> PositionView | None:
        for position in self.positions:
            if position.market == market:
                return position
        return None


class AccountSource(Protocol):
    def accounts(self) -> Sequence[AccountView]:
        """Every account with an open position, at the latest state known."""
        ...

    def account(self, trader: Address) -> AccountView:
        """``trader``'s account now (after the keeper's own last transaction)."""
        ...


class ChainAccounts:
    """An :class:`AccountSource` read from the chain (see the module docstring)."""

    def __init__(
        self, web3: Web3, exchange: Contract, listed: Sequence[MarketId], start_block: int
    ) -> None:
        self._web3 = web3
        self._exchange = exchange
        self._listed = tuple(listed)
        self._cursor = start_block - 1
        self.traders: set[Address] = set()
        self._events: dict[bytes, Any] = {}
        for entry in exchange.abi:
            if entry["type"] == "event" and entry["name"] in _TRADER_EVENTS:
                topic = bytes(event_abi_to_log_topic(entry))
                self._events[topic] = exchange.events[entry["name"]]()

    def accounts(self) -> list[AccountView]:
        head = int(self._web3.eth.block_number)
        self._index(head)
        views = (self._read(trader, head) for trader in sorted(self.traders))
        return [view for view in views if view.positions]

    def account(self, trader: Address) -> AccountView:
        return self._read(trader, int(self._web3.eth.block_number))

    def _index(self, head: int) -> None:
        """Learn the traders named by logs up to ``head``."""
        topics = [f"0x{topic.hex()}" for topic in self._events]
        while self._cursor < head:
            last = min(head, self._cursor + BLOCKS_PER_QUERY)
            logs = self._web3.eth.get_logs(
                {
                    "fromBlock": self._cursor + 1,
                    "toBlock": last,
                    "address": self._exchange.address,
                    "topics": [topics],
                }
            )
            for log in logs:
                event = self._events[bytes(log["topics"][0])].process_log(log)
                for name in _TRADER_EVENTS[event["event"]]:
                    self.traders.add(Address(event["args"][name]))
            self._cursor = last

    def _read(self, trader: Address, block: int) -> AccountView:
        views = self._exchange.functions
        equity, initial, maintenance = views.cross_health(trader).call(block_identifier=block)
        positions: list[PositionView] = []
        for market in self._listed:
            size, quote, isolated, _ = views.position(trader, market).call(block_identifier=block)
            if size == 0:
                continue
            _, funding = views.funding_owed(trader, market).call(block_identifier=block)
            health = None
            if isolated:
                health = _health(views.isolated_health(trader, market).call(block_identifier=block))
            positions.append(
                PositionView(market, Size(size), Collateral(quote), bool(isolated), funding, health)
            )
        cross = _health((equity, initial, maintenance))
        return AccountView(trader, cross, tuple(positions), block)


Scan = Callable[[Mapping[MarketId, Price]], list[AccountView]]
"""Every account with an open position, valued at the given prices, from a fold of the
chain kept elsewhere (the node's position manager)."""


class FoldedAccounts:
    """The scan from a fold (no RPC per account) at the prices the chain quotes now; the
    account the liquidator then acts on, and re-reads after each step, from the chain at
    the head: the fold lags the keeper's own transactions by a poll."""

    def __init__(
        self, scan: Scan, chain: ChainAccounts, prices: Callable[[], Mapping[MarketId, Price]]
    ) -> None:
        self._scan = scan
        self._chain = chain
        self._prices = prices

    def accounts(self) -> list[AccountView]:
        return self._scan(self._prices())

    def account(self, trader: Address) -> AccountView:
        return self._chain.account(trader)


def _health(values: Sequence[int]) -> Health:
    equity, initial, maintenance = values
    return Health(Collateral(equity), Collateral(initial), Collateral(maintenance))
