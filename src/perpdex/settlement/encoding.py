"""The calldata form of a ``settle`` batch, mirroring ``contracts/orders.vy``.

A signed order travels as four words (two packed field words, r, s) and a fill as one
word naming its maker and taker by index in the batch's order list, so an order that
fills several times in a batch is sent and verified once. A trigger order's direction
rides in its head word; its trigger price travels apart, in the batch's third argument
(one word per trigger order, by ascending order index), so a plain order costs no fifth
word. The bit layout is documented once, in ``orders.vy``;
``tests/unitary/exchange/test_settle.py`` checks that the contract decodes what this module
encodes.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from perpdex.core.eip712 import SignedOrder, margin_mode_code, time_in_force_code
from perpdex.core.signing import address_bytes
from perpdex.core.types import OrderHash, Price, Size

PackedOrder = tuple[int, int, int, int]
"""(head, body, r, s) as ``orders.PackedOrder``."""

_U16, _U64 = (1 << 16) - 1, (1 << 64) - 1

SettleArgs = tuple[list[PackedOrder], list[int], list[int]]
"""The arguments of ``Exchange.settle``: packed orders, fill words, trigger words."""


class BatchFullError(ValueError):
    """The batch already holds the largest number of orders or fills the contract takes."""


def pack_order(signed: SignedOrder) -> PackedOrder:
    """The four calldata words of a signed order."""
    order = signed.order
    head = (
        int.from_bytes(address_bytes(order.trader), "big")
        | order.market << 160
        | order.max_fee_ppm << 192
        | margin_mode_code(order.margin_mode) << 224
        | time_in_force_code(order.time_in_force) << 232
        | int(order.is_buy) << 240
        | int(order.reduce_only) << 241
        | int(order.trigger_direction) << 242
        | signed.signature.v << 248
    )
    body = order.size | order.limit_price << 64 | order.expiry << 128 | order.nonce << 192
    return (head, body, signed.signature.r, signed.signature.s)


def pack_trigger(order_index: int, signed: SignedOrder) -> int:
    """The trigger word of the trigger order at ``order_index`` of a batch's order list."""
    return order_index | signed.order.trigger_price << 16


def unpack_trigger(word: int) -> tuple[int, Price]:
    """``(order index, trigger price)`` of a trigger word (the position manager reads the
    orders of a settle transaction back)."""
    return word & _U16, Price(word >> 16 & _U64)


def pack_fill(maker_index: int, taker_index: int, price: Price, size: Size) -> int:
    """The calldata word of one fill."""
    return maker_index | taker_index << 16 | price << 32 | size << 96


@dataclass(frozen=True, slots=True)
class Match:
    """One fill as the engine produced it: the resting and the incoming signed order."""

    maker: SignedOrder
    taker: SignedOrder
    price: Price
    size: Size


@dataclass(frozen=True, slots=True)
class BatchLimits:
    """The most orders, fills and trigger orders one ``settle`` call takes: the contract's
    ``MAX_ORDERS``, ``MAX_FILLS`` and ``MAX_TRIGGERS``, read from it, never retyped."""

    orders: int
    fills: int
    triggers: int


@dataclass
class Batch:
    """Fills being packed for one ``settle`` call; each distinct order is sent once."""

    limits: BatchLimits
    orders: list[PackedOrder] = field(default_factory=list)
    fills: list[int] = field(default_factory=list)
    triggers: list[int] = field(default_factory=list)
    matches: list[Match] = field(default_factory=list)
    _index: dict[OrderHash, int] = field(default_factory=dict)

    @classmethod
    def of(cls, matches: Iterable[Match], limits: BatchLimits) -> Batch:
        """A batch of ``matches``, in order; raises BatchFullError if they do not fit."""
        batch = cls(limits)
        for match in matches:
            batch.add(match)
        return batch

    def new_orders(self, match: Match) -> int:
        """How many orders adding ``match`` would add to the batch (0, 1 or 2)."""
        return sum(s.order_hash not in self._index for s in (match.maker, match.taker))

    def new_triggers(self, match: Match) -> int:
        """How many trigger orders adding ``match`` would add to the batch (0, 1 or 2)."""
        return sum(
            s.order.is_trigger and s.order_hash not in self._index
            for s in (match.maker, match.taker)
        )

    def add(self, match: Match) -> None:
        """Appends ``match``; raises BatchFullError, changing nothing, if it does not fit."""
        limits = self.limits
        if len(self.fills) >= limits.fills:
            raise BatchFullError(f"batch already holds {limits.fills} fills")
        if len(self.orders) + self.new_orders(match) > limits.orders:
            raise BatchFullError(f"batch already holds {len(self.orders)} orders")
        if len(self.triggers) + self.new_triggers(match) > limits.triggers:
            raise BatchFullError(f"batch already holds {len(self.triggers)} trigger orders")
        maker = self._order_index(match.maker)
        taker = self._order_index(match.taker)
        self.fills.append(pack_fill(maker, taker, match.price, match.size))
        self.matches.append(match)

    def calldata_args(self) -> SettleArgs:
        """The three arguments of ``settle``."""
        return self.orders, self.fills, self.triggers

    def _order_index(self, signed: SignedOrder) -> int:
        index = self._index.get(signed.order_hash)
        if index is None:
            index = len(self.orders)
            self._index[signed.order_hash] = index
            self.orders.append(pack_order(signed))
            if signed.order.is_trigger:
                # appended in order-index order, as the contract's cursor reads them
                self.triggers.append(pack_trigger(index, signed))
        return index
