"""The fold checked against the contract's views: what the tests (and an operator) use to
show that the position manager's chain state is the chain's."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from web3.contract import Contract

from perpdex.core.margin import FLAT, Health, PositionState
from perpdex.core.types import Address, Collateral, MarketId, Size
from perpdex.risk import health
from perpdex.risk.ledger import Account, Ledger
from perpdex.risk.prices import Quote


def chain_account(
    exchange: Contract, trader: Address, listed: Sequence[MarketId], block: int
) -> Account:
    """``trader``'s account as the views return it at ``block`` (no withdrawal: there is
    no view of the pending request)."""
    views = exchange.functions
    collateral, _, _ = views.account(trader).call(block_identifier=block)
    account = Account(Collateral(collateral))
    for market in listed:
        size, quote, isolated, margin = views.position(trader, market).call(block_identifier=block)
        position = PositionState(Size(size), Collateral(quote), isolated, Collateral(margin))
        if position != FLAT:
            snapshot, _ = views.funding_owed(trader, market).call(block_identifier=block)
            account.set_position(market, position, snapshot)
    return account


def differences(
    ledger: Ledger,
    exchange: Contract,
    traders: Iterable[Address],
    listed: Sequence[MarketId],
    quotes: dict[MarketId, Quote],
    block: int,
) -> list[str]:
    """Where the fold disagrees with the views at ``block`` (empty: it does not).
    ``quotes`` must be the prices at ``block``."""
    prices = {market: quote.price for market, quote in quotes.items()}
    found: list[str] = []
    for trader in traders:
        mine = ledger.accounts.get(trader, Account())
        chain = chain_account(exchange, trader, listed, block)
        if (mine.collateral, mine.positions, mine.funding) != (
            chain.collateral,
            chain.positions,
            chain.funding,
        ):
            found.append(f"{trader}: folded {mine} != chain {chain}")
            continue
        equity, initial, maintenance = exchange.functions.cross_health(trader).call(
            block_identifier=block
        )
        view = Health(Collateral(equity), Collateral(initial), Collateral(maintenance))
        modelled = health.cross_health(mine, prices, ledger.markets)
        if modelled != view:
            found.append(f"{trader}: modelled {modelled} != cross_health {view}")
    return found
