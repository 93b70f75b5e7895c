"""A naive matcher for the benchmark's semantics: lists and sorting, obviously right.

Used as the oracle of the differential tests; speed does not matter here.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Any

Fill = tuple[int, int, int, int]  # taker id, maker id, price, size


@dataclass
class _Resting:
    order_id: int
    buy: bool
    price: int
    remaining: int


def reference_fills(rows: list[dict[str, Any]]) -> list[Fill]:
    book: list[_Resting] = []  # arrival order
    fills: list[Fill] = []
    for row in rows:
        if row["op"] == "cancel":
            book = [order for order in book if order.order_id != row["id"]]
            continue
        buy = row["side"] == "buy"
        price, size, tif = row["price"], row["size"], row["tif"]
        crossing = [
            order
            for order in book
            if order.buy != buy and (order.price <= price if buy else order.price >= price)
        ]
        # best price first; sorted() is stable, so arrival order breaks ties
        crossing = sorted(crossing, key=lambda order: order.price if buy else -order.price)
        if tif == "POST_ONLY" and crossing:
            continue
        if tif == "FOK" and sum(order.remaining for order in crossing) < size:
            continue
        for order in crossing:
            if size == 0:
                break
            traded = min(size, order.remaining)
            fills.append((row["id"], order.order_id, order.price, traded))
            order.remaining -= traded
            size -= traded
        book = [order for order in book if order.remaining > 0]
        if size and tif in ("GTC", "POST_ONLY"):
            book.append(_Resting(row["id"], buy, price, size))
    return fills


def bench_rows(seed: int, count: int) -> list[dict[str, Any]]:
    """A workload in gen_orders.py's format, in a narrow band so that orders often cross."""
    rnd = random.Random(seed)
    rows: list[dict[str, Any]] = []
    next_id = 1
    for _ in range(count):
        if rnd.random() < 0.25 and next_id > 1:
            # live, filled, cancelled or never used ids alike
            rows.append({"op": "cancel", "id": rnd.randint(1, next_id + 2)})
            continue
        rows.append(
            {
                "op": "new",
                "id": next_id,
                "account": rnd.randrange(4),
                "side": rnd.choice(("buy", "sell")),
                "price": 100 + rnd.randint(-6, 6),
                "size": rnd.choice((1, 2, 3, 5, 8, 40)),
                "tif": rnd.choice(("GTC", "GTC", "GTC", "IOC", "FOK", "POST_ONLY")),
            }
        )
        next_id += 1
    return rows
