"""The API's replies as typed models: the OpenAPI document is generated from them, and the
SDK decodes replies with them (:mod:`perpdex.sdk.gateway_http`).

Amounts are decimal strings in the units a person reads (:mod:`.amounts`); counts, ids,
sequence numbers, block numbers and times (Unix milliseconds, UTC) are integers; markets
are named by symbol with their id beside; addresses are checksummed.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field
from pydantic.alias_generators import to_camel

from perpdex.http.amounts import Amount

Side = Literal["buy", "sell"]


class ApiModel(BaseModel):
    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, frozen=True)


# -- markets ------------------------------------------------------------------------------


class Market(ApiModel):
    """A listed market, its terms and what moves it now."""

    id: int
    symbol: str
    tick_size: Amount
    """USD: the price grid."""
    lot_size: Amount
    """Base asset: the size grid."""
    maker_fee: Amount
    """A fraction of the notional: ``"0.0002"`` is 2 bp."""
    taker_fee: Amount
    initial_margin: Amount
    """A fraction of the notional."""
    maintenance_margin: Amount
    max_leverage: int | None
    index_price: Amount | None
    """USD: the oracle's latest price (null until the chain was read)."""
    mark_price: Amount | None
    """USD: what the Exchange values positions at (the oracle's, or the last good one)."""
    mark_price_fresh: bool | None
    """False: the oracle is stale, and ``markPrice`` is its last good price."""
    funding_rate: Amount | None
    """The last funding post's rate per interval, a fraction of the index price (positive:
    longs paid shorts); null before the first post."""
    funding_interval_s: int | None
    next_funding_time: int | None
    """Unix ms from which the next funding post is due on chain."""
    open_interest: Amount
    """Base asset: the settled long positions (equal to the shorts)."""
    volume24h: Amount = Field(alias="volume24h")
    """Base asset traded in the hourly candles of the last 24 hours."""


Level = Annotated[list[Amount], Field(min_length=2, max_length=2)]
"""``[price, size]``."""


class Book(ApiModel):
    """Every level of the market's book, best first: ``[price, size]`` (USD, base asset).
    ``seq`` is the last ``book_update`` of the WebSocket feed it includes."""

    market: str
    seq: int
    bids: list[Level]
    asks: list[Level]


class Trade(ApiModel):
    """A trade at the maker's price; ``side`` is the taker's; ``seq`` the journal seq of
    the command that traded, ``time`` its stamp."""

    seq: int
    time: int
    price: Amount
    size: Amount
    side: Side


class Candle(ApiModel):
    """OHLCV (USD, base asset) of the trades from ``start`` for one interval."""

    start: int
    open: Amount
    high: Amount
    low: Amount
    close: Amount
    volume: Amount
    trades: int


# -- the node -----------------------------------------------------------------------------


class Service(ApiModel):
    name: str
    running: bool


class ShardReplica(ApiModel):
    """A replica of an engine shard (cluster mode's reader)."""

    shard: int
    seq: int
    """The last journal entry it applied."""
    lag: int
    """Messages of the shard's journal stream not yet delivered to it."""


class Health(ApiModel):
    """``ok``: every service runs and the chain was read within the last minute."""

    ok: bool
    services: list[Service]
    chain_head: int | None
    folded_block: int | None
    """The last block the position manager folded."""
    chain_head_lag: int | None
    """Blocks between the chain's head (as last read) and the fold."""
    chain_error: str | None
    """Why the last read of the chain failed (null: it worked)."""
    journal_seq: int | None
    """The engine's last sequenced command."""
    durable_seq: int | None
    settled_seq: int | None
    """Every fill of a command at or below it is settled or refused for good."""
    checkpointed_seq: int | None
    """The journal seq of the latest checkpoint on chain."""
    shards: list[ShardReplica] = []
    """Cluster mode's reader: its replica of each engine shard (empty embedded)."""


# -- accounts -----------------------------------------------------------------------------


class Position(ApiModel):
    """An open position (chain state plus fills not yet settled); null where unknown."""

    market: str
    size: Amount
    """Signed, base asset: negative is short."""
    margin_mode: Literal["cross", "isolated"]
    isolated_margin: Amount
    entry_price: Amount | None
    """USD, the fills' size-weighted average (fees apart), 8 decimals rounded down."""
    fees_paid: Amount | None
    mark_price: Amount | None
    unrealised_pnl: Amount | None
    """USDC: (mark - entry) x size, fees and funding apart."""
    margin_ratio: Amount | None
    """Equity / maintenance of the position's scope, 4 decimals: liquidatable below 1."""
    liquidation_price: Amount | None
    """USD: the tick where the contract first accepts a liquidation, other prices held."""
    leverage: Amount
    """The trader's cap in the market (its maximum if none is set)."""


class OrderMessage(ApiModel):
    """The signed EIP-712 ``Order`` message, in the contract's integers (it is what was
    signed: the SDK amends from it)."""

    trader: str
    market: int
    is_buy: bool
    size: int
    limit_price: int
    max_fee_ppm: int
    margin_mode: int
    time_in_force: int
    reduce_only: bool
    expiry: int
    nonce: int
    trigger_price: int = 0
    trigger_direction: int = 0


class OpenOrder(ApiModel):
    """An order on the book now (or a trigger order held off it), as it rests: ``size`` its
    total (an amend's new one), ``remaining`` what is open."""

    market: str
    order_id: int
    order_hash: str
    client_id: str | None
    side: Side
    price: Amount
    size: Amount
    remaining: Amount
    reduce_only: bool
    trigger_price: Amount | None
    trigger_direction: int
    """0: a plain order; else the ``TriggerDirection`` code."""
    order: OrderMessage


class PositionLeg(ApiModel):
    """A position as the margin figures count it: ``size`` (base asset) and its signed
    ``quote`` leg (USDC: what opening it cost, net of fees)."""

    market: str
    market_id: int
    size: Amount
    quote: Amount
    isolated_margin: Amount


class Account(ApiModel):
    """An account as the risk service sees it (chain state plus unsettled fills), USDC;
    the margin figures are null for an account it does not know."""

    trader: str
    collateral: Amount | None
    equity: Amount | None
    initial_margin: Amount | None
    maintenance_margin: Amount | None
    positions: list[Position]
    legs: list[PositionLeg]
    """What ``equity`` and the margins are computed from."""
    open_orders: list[OpenOrder]


class Fill(ApiModel):
    """One of the account's orders traded ``size`` at ``price``; ``maker``: on the resting
    side. ``accountSeq`` numbers the account's events 1, 2, 3, ... (page and resume by it)."""

    type: Literal["fill"] = "fill"
    seq: int
    account_seq: int
    market: str
    order_id: int
    order_hash: str
    client_id: str | None
    side: Side
    price: Amount
    size: Amount
    maker: bool


class FillRejected(ApiModel):
    """A fill of the account (its ``fill`` came earlier) that will never settle, and why."""

    type: Literal["fill_rejected"] = "fill_rejected"
    seq: int
    account_seq: int
    market: str
    order_id: int | None
    """Null: the order was not placed through this gateway."""
    order_hash: str
    client_id: str | None
    side: Side
    price: Amount
    size: Amount
    maker: bool
    reason: str


class OrderUpdate(ApiModel):
    """``size`` of an order left the book without trading (``status`` cancelled, expired,
    amended, with ``reason``), or a trigger order was held (``untriggered``) or released
    (``triggered``, at ``indexPrice``)."""

    type: Literal["order"] = "order"
    seq: int
    account_seq: int
    market: str
    order_id: int
    order_hash: str
    client_id: str | None
    status: str
    size: Amount
    reason: str | None
    index_price: Amount | None


AccountEvent = Annotated[Fill | FillRejected | OrderUpdate, Field(discriminator="type")]


class EventsPage(ApiModel):
    """Events in ``accountSeq`` order; ``next`` is the ``after`` of the next page (null:
    this page reached the end)."""

    events: list[AccountEvent]
    next: int | None


class HistoricalOrder(ApiModel):
    """An order the engine accepted, as of the last durable command: ``state`` is
    ``untriggered``, ``open``, ``filled``, ``cancelled`` or ``expired``; ``filled`` of
    ``size`` traded at ``averagePrice``; ``reason`` why it left the book; ``seq`` and
    ``updatedSeq`` the journal entries that placed and last changed it."""

    market: str
    order_id: int
    order_hash: str
    client_id: str | None
    side: Side
    price: Amount
    size: Amount
    filled: Amount
    average_price: Amount | None
    """USD, 8 decimals rounded down; null before a fill."""
    state: str
    reason: str | None
    seq: int
    updated_seq: int
    trigger_price: Amount | None
    trigger_direction: int


class OrdersPage(ApiModel):
    """Orders by ``orderId``; ``next`` as in :class:`EventsPage`."""

    orders: list[HistoricalOrder]
    next: int | None


class FundingPayment(ApiModel):
    """Funding settled into a position (the Exchange's ``FundingSettled``): ``amount``
    USDC received (negative: paid); ``index`` the market's cumulative funding index the
    position settles from now (USDC per whole base unit)."""

    market: str
    amount: Amount
    index: Amount
    time: int
    block: int
    cursor: int
    """Pass as ``after`` to read the payments after this one."""


class FundingPage(ApiModel):
    payments: list[FundingPayment]
    next: int | None


# -- the journal --------------------------------------------------------------------------


class JournalHead(ApiModel):
    seq: int
    head: str
    """0x-hex: the chain head after entry ``seq``."""


class JournalEntry(ApiModel):
    """One entry: its bytes and the chain head after it (to re-hash: ``head_n =
    keccak256(head_{n-1} || entry_n)``), and the command decoded (bytes in base64)."""

    seq: int
    time: int
    command: str
    fields: dict[str, Any]
    entry: str
    head: str


class JournalPage(ApiModel):
    head: JournalHead
    """The journal's durable head now."""
    entries: list[JournalEntry]


# -- operator -----------------------------------------------------------------------------


class SettleBatch(ApiModel):
    """A mined ``settle`` transaction: ``fills`` it carried, ``settled`` of them."""

    time: int
    """Unix ms when the node saw it mined."""
    tx_hash: str
    block: int
    fills: int
    settled: int
    gas_used: int
    gas_per_fill: int | None


class RefusedFill(ApiModel):
    time: int
    market: str
    price: Amount
    size: Amount
    maker: str
    taker: str
    reason: str
    tx_hash: str | None
    """The transaction that skipped it (null: left out before sending)."""


class Settlement(ApiModel):
    """The newest batches and refused fills (newest first; a bounded window, since the
    node started), and the refusals by reason since then."""

    batches: list[SettleBatch]
    refused: list[RefusedFill]
    refusals: dict[str, int]


class KeeperAction(ApiModel):
    time: int
    kind: Literal["liquidation", "deleverage", "funding", "oracle"]
    market: str
    tx_hash: str
    block: int
    trader: str | None
    counterparty: str | None
    """A deleveraging's counterparty."""
    funding_rate: Amount | None
    """A funding post's rate per interval (a fraction of the index price)."""
    price: Amount | None
    """A funding post's index price, an oracle push's price."""


class InsuranceFund(ApiModel):
    balance: Amount | None
    """USDC, as last read from the chain (null: not read yet)."""
    block: int | None


class FundingRate(ApiModel):
    market: str
    rate: Amount | None
    """The last post's rate per interval, a fraction of the index price."""
    interval_s: int | None
    next_funding_time: int | None
    """Unix ms."""
