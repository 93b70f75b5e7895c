"""Why the engine refuses a command or ends an order, and what can go wrong in a journal."""

from __future__ import annotations

from enum import Enum


class RejectReason(Enum):
    """A command the engine refused; a rejected command changes no book."""

    UNKNOWN_MARKET = "unknown_market"
    BAD_SIZE = "bad_size"  # not positive
    BAD_LOT = "bad_lot"  # not a multiple of the market's lot size
    BAD_PRICE = "bad_price"  # not positive
    BAD_TICK = "bad_tick"  # not a multiple of the market's tick size
    DUPLICATE_ORDER_ID = "duplicate_order_id"
    DUPLICATE_CLIENT_ORDER_ID = "duplicate_client_order_id"
    UNKNOWN_ORDER = "unknown_order"
    EXPIRED = "expired"
    POST_ONLY_WOULD_CROSS = "post_only_would_cross"
    FOK_NOT_FILLABLE = "fok_not_fillable"
    REDUCE_ONLY_WOULD_INCREASE = "reduce_only_would_increase"
    BAD_DEADLINE = "bad_deadline"
    BAD_TRIGGER = "bad_trigger"  # a trigger order without a positive trigger price, or vice versa
    NOT_TRIGGERED = "not_triggered"  # an amend of a held trigger order: cancel and re-place


class CancelReason(Enum):
    """Why (part of) an accepted order left the book without filling."""

    REQUESTED = "requested"  # cancel by id, by client id, or cancel-all
    AMENDED = "amended"  # size amended down, or amended to at most the filled size
    UNFILLED_IOC = "unfilled_ioc"  # remainder of an IOC or market order
    SELF_TRADE = "self_trade"
    DEAD_MAN = "dead_man"  # the account's dead-man switch fired
    ON_CHAIN = "cancelled_on_chain"  # the trader closed its nonce on chain (or its floor rose)
    FILL_REJECTED = "fill_rejected"  # the chain refused a fill of the order: the rest goes
    FEE_ABOVE_CAP = "fee_above_cap"  # the market's maker fee rose above the order's signed cap
    REDUCE_ONLY_EXCEEDS_POSITION = "reduce_only_exceeds_position"  # the position shrank below it
    EXPIRES_ON_CHAIN = "expires_on_chain"  # the chain's clock, ahead, nears its signed expiry
    MARGIN_UNCOVERED = "margin_uncovered"  # a price or chain move left the account short of it
    # a released trigger order that its time in force refuses to enter (as a new order would
    # be rejected): the whole released size
    POST_ONLY_WOULD_CROSS = "post_only_would_cross"
    FOK_NOT_FILLABLE = "fok_not_fillable"
    POSITION_CLOSED = "position_closed"  # an attached take-profit or stop-loss: nothing to close


class JournalError(Exception):
    """The journal cannot be read back as a valid hash chain; ``seq`` is the first bad entry.

    ``where`` locates it in the store: a byte offset in a file, a row id in SQLite.
    """

    def __init__(self, seq: int, where: int, detail: str) -> None:
        super().__init__(f"journal entry {seq} (at {where}): {detail}")
        self.seq = seq
        self.where = where
        self.detail = detail


class TornEntry(JournalError):
    """The last entry was cut short (a crash mid-write); everything before it is sound."""


class BadEntry(JournalError):
    """An entry's frame, sequence number or encoding is wrong."""


class ChainMismatch(JournalError):
    """An entry's stored head is not keccak256(previous head || entry)."""


class SnapshotError(Exception):
    """A snapshot does not match the journal it claims to summarise."""
