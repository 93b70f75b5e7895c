"""Reads the Exchange's and the Markets registry's logs from the chain as typed events.

Stateless but for its cursor: a new indexer starts at the deployment's ``start_block``, so
a restarted position manager rebuilds from the chain alone. Blocking (web3 over HTTP):
the position manager calls :meth:`ChainIndexer.poll` in a worker thread.

Two kinds of logs need more than the log itself:

* ``Filled`` lacks the orders' sides and margin modes: they are read from the ``settle``
  transaction's calldata (each order's hash re-derived from its packed words). The
  ``IsolatedMarginMoved`` logs a fill emits are dropped: the fill's model makes them.
* ``Liquidated``, ``Deleveraged`` and ``InsuranceDrawn`` are not modelled: every trader
  they name is read from the views at the end of that block (:class:`AccountSynced`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from itertools import groupby
from typing import Any

from eth_utils.abi import event_abi_to_log_topic
from hexbytes import HexBytes
from web3 import Web3
from web3.contract import Contract
from web3.types import EventData, LogReceipt

from perpdex.core.eip712 import Eip712Domain, Order
from perpdex.core.margin import FLAT, MarginPpm, PositionState
from perpdex.core.types import Address, Collateral, MarketId, OrderHash, Size
from perpdex.risk.events import (
    AccountSynced,
    ChainEvent,
    ChainFill,
    Deposited,
    FeesQueued,
    FillSide,
    FundingPosted,
    FundingSettled,
    IsolatedMarginMoved,
    LogPosition,
    MarketParamsSet,
    NonceFloorRaised,
    OrderCancelled,
    QueuedFees,
    SyncedPosition,
    WithdrawalCancelled,
    WithdrawalRequested,
    Withdrawn,
)
from perpdex.settlement.encoding import unpack_trigger
from perpdex.settlement.payload import order_from_payload

BLOCKS_PER_QUERY = 2_000
_RESYNC_EVENTS = {"Liquidated": ("trader", "liquidator"), "Deleveraged": ("trader", "counterparty")}
_SYNC_INDEX = 1 << 32
"""Log index of the synced accounts: after every real log of their block."""


@dataclass(frozen=True, slots=True)
class IndexedBlocks:
    events: list[ChainEvent]
    through: int
    """Every log up to this block is in ``events`` (or in an earlier poll's)."""


class ChainIndexer:
    def __init__(
        self,
        web3: Web3,
        exchange: Contract,
        markets: Contract,
        domain: Eip712Domain,
        listed: Sequence[MarketId],
        start_block: int,
    ) -> None:
        self._web3 = web3
        self._exchange = exchange
        self._domain = domain
        self._listed = tuple(listed)
        self._addresses = [exchange.address, markets.address]
        self._cursor = start_block - 1
        self._decoders: dict[bytes, Any] = {}
        for contract in (exchange, markets):
            for entry in contract.abi:
                if entry["type"] == "event":
                    topic = bytes(event_abi_to_log_topic(entry))
                    self._decoders[topic] = contract.events[entry["name"]]()

    @property
    def through(self) -> int:
        return self._cursor

    def head(self) -> int:
        return int(self._web3.eth.block_number)

    def latest(self) -> tuple[int, int]:
        """The latest block's number and timestamp (the chain's clock: ``block.timestamp``)."""
        block = self._web3.eth.get_block("latest")
        return int(block["number"]), int(block["timestamp"])

    def poll(self, head: int | None = None) -> IndexedBlocks:
        """The events of the next blocks up to ``head`` (default: the latest)."""
        head = self.head() if head is None else head
        first = self._cursor + 1
        last = min(head, first + BLOCKS_PER_QUERY - 1)
        if first > last:
            return IndexedBlocks([], self._cursor)
        logs = self._web3.eth.get_logs(
            {"fromBlock": first, "toBlock": last, "address": self._addresses}
        )
        decoded = [self._decode(log) for log in logs]
        events: list[ChainEvent] = []
        for block, in_block in groupby((d for d in decoded if d is not None), _block):
            events += self._block_events(block, list(in_block))
        self._cursor = last
        return IndexedBlocks(events, last)

    def _decode(self, log: LogReceipt) -> EventData | None:
        topics = log["topics"]
        decoder = self._decoders.get(bytes(topics[0])) if topics else None
        return None if decoder is None else decoder.process_log(log)

    def _block_events(self, block: int, logs: list[EventData]) -> list[ChainEvent]:
        synced: list[Address] = []
        for log in logs:
            for name in _RESYNC_EVENTS.get(log["event"], ()):
                synced.append(Address(log["args"][name]))
            if log["event"] == "InsuranceDrawn":
                synced.append(Address(log["args"]["trader"]))
        resync = frozenset(synced)
        events: list[ChainEvent] = []
        for _, in_tx in groupby(logs, lambda log: bytes(log["transactionHash"])):
            events += self._tx_events(list(in_tx), resync)
        for i, trader in enumerate(sorted(resync)):
            events.append(self._synced(trader, LogPosition(block, _SYNC_INDEX + i)))
        return events

    def _tx_events(self, logs: list[EventData], resync: frozenset[Address]) -> list[ChainEvent]:
        names = {log["event"] for log in logs}
        orders = self._settled_orders(logs[0]) if "Filled" in names else {}
        moved_by_trade = bool(names & {"Filled", *_RESYNC_EVENTS})
        events: list[ChainEvent] = []
        for log in logs:
            event = self._typed(log, orders, resync, moved_by_trade)
            if event is not None:
                events.append(event)
        return events

    def _typed(
        self,
        log: EventData,
        orders: dict[OrderHash, Order],
        resync: frozenset[Address],
        moved_by_trade: bool,
    ) -> ChainEvent | None:
        at = LogPosition(int(log["blockNumber"]), int(log["logIndex"]))
        args = log["args"]
        trader = Address(args["trader"]) if "trader" in args else None
        match log["event"]:
            case "Deposited" if trader not in resync:
                return Deposited(at, Address(args["trader"]), Collateral(args["amount"]))
            case "WithdrawalRequested":
                return WithdrawalRequested(at, Address(args["trader"]), Collateral(args["amount"]))
            case "WithdrawalCancelled":
                return WithdrawalCancelled(at, Address(args["trader"]))
            case "Withdrawn" if trader in resync:
                # the synced collateral already lacks it; only the request is gone
                return WithdrawalCancelled(at, Address(args["trader"]))
            case "Withdrawn":
                return Withdrawn(at, Address(args["trader"]), Collateral(args["amount"]))
            case "IsolatedMarginMoved" if not moved_by_trade and trader not in resync:
                market = MarketId(args["market"])
                return IsolatedMarginMoved(at, Address(args["trader"]), market, args["amount"])
            case "FundingSettled" if trader not in resync:
                market = MarketId(args["market"])
                amount, index = args["amount"], args["index"]
                return FundingSettled(at, Address(args["trader"]), market, amount, index)
            case "Filled":
                return self._fill(at, args, orders, resync)
            case "MarketParamsChanged":
                return MarketParamsSet(
                    at,
                    MarketId(args["market"]),
                    MarginPpm(args["initial_margin_ppm"]),
                    MarginPpm(args["maintenance_margin_ppm"]),
                    args["maker_fee_ppm"],
                    args["taker_fee_ppm"],
                )
            case "FundingPosted":
                return FundingPosted(at, MarketId(args["market"]), args["index"])
            case "ParamsQueued":
                config = args["config"]
                fees = QueuedFees(
                    config["maker_fee_ppm"], config["taker_fee_ppm"], args["effective_at"]
                )
                return FeesQueued(at, MarketId(args["market"]), fees)
            case "ParamsCancelled":
                return FeesQueued(at, MarketId(args["market"]), None)
            case "OrderCancelled":
                order_hash = OrderHash(bytes(args["order_hash"]))
                return OrderCancelled(at, Address(args["trader"]), args["nonce"], order_hash)
            case "NonceFloorRaised":
                return NonceFloorRaised(at, Address(args["trader"]), args["nonce_floor"])
        return None

    def _fill(
        self,
        at: LogPosition,
        args: Any,
        orders: dict[OrderHash, Order],
        resync: frozenset[Address],
    ) -> ChainFill:
        hashes = OrderHash(bytes(args["maker_hash"])), OrderHash(bytes(args["taker_hash"]))
        sides: list[FillSide | None] = []
        for order_hash, fee in zip(hashes, (args["maker_fee"], args["taker_fee"]), strict=True):
            order = orders[order_hash]
            sides.append(
                None
                if order.trader in resync
                else FillSide(order.trader, order_hash, order.side, order.margin_mode, fee)
            )
        return ChainFill(
            at,
            MarketId(args["market"]),
            args["price"],
            args["size"],
            sides[0],
            sides[1],
            hashes[0],
            hashes[1],
        )

    def _settled_orders(self, log: EventData) -> dict[OrderHash, Order]:
        """The orders a ``settle`` transaction carried, by hash."""
        transaction = self._web3.eth.get_transaction(log["transactionHash"])
        _, params = self._exchange.decode_function_input(HexBytes(transaction["input"]))
        orders: dict[OrderHash, Order] = {}
        # a trigger order's price travels apart, in a trigger word naming its index
        triggers = dict(unpack_trigger(int(word)) for word in params["triggers"])
        for index, packed in enumerate(params["signed_orders"]):
            words = [*(packed.values() if isinstance(packed, dict) else packed)]
            if index in triggers:
                words.append(triggers[index])  # the payload's fifth word
            payload = b"".join(int(word).to_bytes(32, "big") for word in words)
            try:
                signed = order_from_payload(payload, self._domain)
            except ValueError:
                continue  # a bad signature: the contract skipped its fills
            orders[signed.order_hash] = signed.order
        return orders

    def _synced(self, trader: Address, at: LogPosition) -> AccountSynced:
        views = self._exchange.functions
        block = at.block
        collateral, _, _ = views.account(trader).call(block_identifier=block)
        positions: list[SyncedPosition] = []
        for market in self._listed:
            size, quote, isolated, margin = views.position(trader, market).call(
                block_identifier=block
            )
            position = PositionState(Size(size), Collateral(quote), isolated, Collateral(margin))
            if position != FLAT:
                snapshot, _ = views.funding_owed(trader, market).call(block_identifier=block)
                positions.append(SyncedPosition(market, position, snapshot))
        return AccountSynced(at, trader, Collateral(collateral), tuple(positions))


def _block(log: EventData) -> int:
    return int(log["blockNumber"])
