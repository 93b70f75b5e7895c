"""The cascade with feedback, round by round, on the crowd's anvil.

A round is one external price: the maker requotes its ladder in the engine, the keeper's
oracle pusher pushes the blended index (``perpdex.sim.cascade.feedback``), the keeper's
liquidator steps every account below maintenance at that index, and the keeper sells what
it holds on the engine's book with its hedge order (an IOC at most
``DEFAULT_SLIPPAGE_PPM`` under the index, ``perpdex.keeper.hedge``). The sale's fall of
the mid carries into the next round's index. After the external path ends its low is held
until a round has neither a liquidation nor a sale (the book and the index then stay put),
for at most :data:`MAX_ROUNDS` rounds in all.

anvil mines every transaction at once (automine): a round takes as long as its
transactions, and nothing depends on the wall clock, so a seed gives the same run.
The keeper's sales on the book are not settled on chain (the keeper keeps its on-chain
position; only what the book does with the sale feeds back).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from itertools import chain, repeat

from perpdex.chain.markets import MarketSpec
from perpdex.core.slippage import worst_price
from perpdex.core.types import Address, MarketId, Price, Side, Size
from perpdex.keeper.hedge import DEFAULT_SLIPPAGE_PPM
from perpdex.sim.cascade.book import Book, Depth
from perpdex.sim.cascade.chain import Crowd, outcome
from perpdex.sim.cascade.feedback import Feedback, reference
from perpdex.sim.cascade.metrics import FeedbackRun, PricePush, Round

MAX_ROUNDS = 60


def externals(path: Sequence[Price]) -> Iterator[tuple[int, Price]]:
    """(round, external price): the path, then its last price held, up to the cap."""
    held = chain(path, repeat(path[-1]))
    return zip(range(MAX_ROUNDS), held, strict=False)


def run_feedback(
    opened: Crowd, path: Sequence[Price], market: MarketSpec, depth: Depth, feedback: Feedback
) -> FeedbackRun:
    if depth.reach_ppm() <= DEFAULT_SLIPPAGE_PPM:
        raise ValueError("the ladder must reach past the keeper's hedge band")
    keeper = opened.keeper()
    seller = Address(opened.keeper_account.address)
    market_id = MarketId(opened.setup.market.id)
    book = Book(market_id, market, depth)
    tick = market.tick_size
    pushes: list[PricePush] = []
    rounds: list[Round] = []
    last_book: int = path[0]
    last_external = path[0]
    sold = 0
    at_rest = False
    for number, external in externals(path):
        mid = reference(last_book, last_external, external, tick)
        book.requote(mid)
        before = book.mid()
        index = feedback.index(mid, external, tick)
        pushed = keeper.pusher.push(market_id, index)
        pushes.append(PricePush(pushed.step.block, index))
        actions = keeper.liquidator.tick()
        unsold = opened.setup.position_size(seller) - sold
        worst = worst_price(index, Side.SELL, DEFAULT_SLIPPAGE_PPM, tick)
        sales = book.sell(seller, Size(unsold), worst) if unsold > 0 else []
        sold += sum(sale.size for sale in sales)
        # the mid moved by the sales alone: the ladder's own rounding stays out of the price
        last_book = mid - (before - book.mid())
        last_external = external
        rounds.append(Round(external, mid, index, sales, last_book))
        if number >= len(path) - 1 and not actions and not sales:
            at_rest = True
            break
    unsold = opened.setup.position_size(seller) - sold
    return FeedbackRun(outcome(opened, pushes, []), rounds, unsold, at_rest)
