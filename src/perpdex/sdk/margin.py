"""Isolated margin moved into and out of a position on chain, the contract's refusals as
typed errors that say what to do.

``Exchange.add_isolated_margin`` takes cross collateral into an open isolated position
while the cross account still meets initial margin; ``remove_isolated_margin`` gives it
back while the position still does. Each refusal names the most that could move now, read
from the same views the contract checks (``cross_health``, ``isolated_health``).
"""

from __future__ import annotations

from perpdex.chain.deployment import ListedMarket
from perpdex.core.types import Address, Collateral
from perpdex.sdk.chain_client import ChainClient, ChainReader
from perpdex.sdk.display import usdc
from perpdex.sdk.errors import ChainRevertError

STALE_PRICE = "exchange: stale price"


class MarginMoveError(ChainRevertError):
    """The contract refused to move isolated margin; nothing moved."""


class NoIsolatedPositionError(MarginMoveError):
    """The market holds no open isolated position of the trader to move margin of."""


class CrossMarginTooLowError(MarginMoveError):
    """Adding would leave the cross account below initial margin."""


class IsolatedMarginTooLowError(MarginMoveError):
    """Removing would leave the isolated position below initial margin."""


class MarginStalePriceError(MarginMoveError):
    """A price the move is valued at is stale: try again once the feed is back."""


def add_margin(chain: ChainClient, market: ListedMarket, amount: Collateral) -> Collateral:
    """Move ``amount`` of cross collateral into the isolated position in ``market``;
    returns the position's isolated margin after."""
    return _move(chain, market, amount, adding=True)


def remove_margin(chain: ChainClient, market: ListedMarket, amount: Collateral) -> Collateral:
    """Move ``amount`` out of the isolated position in ``market`` back to cross; returns
    the position's isolated margin after."""
    return _move(chain, market, amount, adding=False)


def _move(
    chain: ChainClient, market: ListedMarket, amount: Collateral, *, adding: bool
) -> Collateral:
    """Checked first against the views the contract checks (a refusal costs no gas, and
    an amount above the margin held reverts without a reason), then sent; a revert in
    between (the price moved) is explained the same way."""
    action = "add_isolated_margin" if adding else "remove_isolated_margin"
    refusal = _refusal(chain, market, amount, action, adding=adding)
    if refusal is not None:
        raise refusal
    try:
        if adding:
            chain.add_isolated_margin(market, amount)
        else:
            chain.remove_isolated_margin(market, amount)
    except ChainRevertError as error:
        if error.reason == STALE_PRICE:
            raise MarginStalePriceError(
                action,
                f"a price the move is valued at is stale ({market.symbol}, or a market of a "
                "cross position): try again once the oracle is fresh",
            ) from None
        raise _refusal(chain, market, amount, action, adding=adding) or error from None
    return chain.position(chain.address, market).isolated_margin


def _refusal(
    chain: ChainClient, market: ListedMarket, amount: Collateral, action: str, *, adding: bool
) -> MarginMoveError | None:
    """Why the contract refuses the move now, or None if it should not."""
    symbol = market.symbol
    if not chain.position(chain.address, market).isolated:
        return NoIsolatedPositionError(
            action,
            f"you hold no isolated position in {symbol}: margin moves only into an open "
            "isolated position (a cross position is backed by the cross collateral)",
        )
    if adding:
        spare = _spare(chain, chain.address, None)
        if amount > spare:
            return CrossMarginTooLowError(
                action,
                f"adding {usdc(amount)} would leave your cross account below initial margin: "
                f"at most {usdc(spare)} can move into {symbol} now",
            )
        return None
    spare = _spare(chain, chain.address, market)
    if amount > spare:
        return IsolatedMarginTooLowError(
            action,
            f"removing {usdc(amount)} would leave the isolated {symbol} position below "
            f"initial margin: at most {usdc(spare)} can be removed now",
        )
    return None


def _spare(chain: ChainReader, trader: Address, market: ListedMarket | None) -> Collateral:
    """Equity above initial margin of the cross account (``market`` None) or of the
    isolated position in ``market``: what the contract would let leave it."""
    health = chain.cross_health(trader) if market is None else chain.isolated_health(trader, market)
    return Collateral(max(health.equity - health.initial, 0))
