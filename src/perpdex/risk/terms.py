"""Terms of an order the contract would refuse at settlement, checked before matching.

``Exchange.settle`` skips a fill whose taker pays a fee above its signed ``maxFeePpm`` or
whose maker does (``REJECT_FEE_ABOVE_MAX``), and one whose order's margin mode differs from
its trader's open position in the market (``REJECT_MARGIN_MODE``). Both are known before a
match: the fees from ``Markets.risk`` (the word ``settle`` reads) and from a change queued
on chain (``ParamsQueued``: anyone applies it once due), the position from the
chain's fold with the fills not yet settled, and the trader's other open orders from the
reservations. The table of every rule and where it is refused is in docs/architecture.md,
"Refused before matching".
"""

from __future__ import annotations

from collections.abc import Sequence

from perpdex.core.eip712 import Order
from perpdex.core.margin import PositionState
from perpdex.core.types import MarginMode, TimeInForce
from perpdex.gateway.protocol import ErrorCode
from perpdex.gateway.risk import SETTLE_MARGIN_S, Refusal
from perpdex.risk.events import QueuedFees
from perpdex.risk.prices import Quote
from perpdex.risk.reservations import Reservation


def fee_refusal(order: Order, quote: Quote, queued: QueuedFees | None) -> Refusal | None:
    """Refuses a ``maxFeePpm`` below the fee of a role the order can take.

    A post-only order only rests, so it is only ever the maker; an IOC or FOK never rests,
    so it is only ever the taker; a GTC order takes what it crosses on arrival and makes
    after it rests, so it must cover both fees (a trader who wants to pay only the maker
    fee signs post-only, which the engine refuses rather than let cross). An order that
    may still fill once a ``queued`` fee change can take effect must cover those fees too.
    """
    maker, taker = quote.maker_fee_ppm, quote.taker_fee_ppm
    later = ""
    if outlives(order, queued):
        assert queued is not None
        if queued.maker_fee_ppm > maker or queued.taker_fee_ppm > taker:
            maker = max(maker, queued.maker_fee_ppm)
            taker = max(taker, queued.taker_fee_ppm)
            later = f" (with the change queued on chain for {queued.effective_at})"
    tif = order.time_in_force
    market = f"market {order.market}{later}"
    if tif is TimeInForce.POST_ONLY:
        if order.max_fee_ppm >= maker:
            return None
        why = f"the maker fee of {market} ({maker} ppm), which a post-only order pays"
    elif tif is not TimeInForce.GTC:
        if order.max_fee_ppm >= taker:
            return None
        why = f"the taker fee of {market} ({taker} ppm), which an {tif.name} pays"
    else:
        if order.max_fee_ppm >= max(maker, taker):
            return None
        why = (
            f"the fees of {market} (maker {maker} ppm, taker {taker} ppm), either of "
            f"which a GTC order may pay; sign maxFeePpm >= {max(maker, taker)}, or "
            "post-only to pay the maker fee only"
        )
    return Refusal(ErrorCode.FEE_CAP_TOO_LOW, f"maxFeePpm {order.max_fee_ppm} is below {why}")


def resting_fee_ppm(order: Order, quote: Quote, queued: QueuedFees | None) -> int:
    """The maker fee a resting order must cover (it only fills as the maker now): the
    market's, and that of a ``queued`` change it may still rest to see."""
    if outlives(order, queued):
        assert queued is not None
        return max(quote.maker_fee_ppm, queued.maker_fee_ppm)
    return quote.maker_fee_ppm


def outlives(order: Order, queued: QueuedFees | None) -> bool:
    """Whether ``order`` may still fill once the ``queued`` change can be applied: the
    engine takes it off the book ``SETTLE_MARGIN_S`` before its signed expiry."""
    return queued is not None and order.expiry - SETTLE_MARGIN_S > queued.effective_at


def margin_mode_refusal(
    order: Order, position: PositionState, open_orders: Sequence[Reservation]
) -> Refusal | None:
    """Refuses an order whose margin mode differs from the trader's position in its market
    (``position``: on chain plus the fills not yet settled) or from an open order of the
    trader there, which may fill first and open the position in its own mode."""
    isolated = order.margin_mode is MarginMode.ISOLATED
    mode = order.margin_mode.name.lower()
    other = (MarginMode.CROSS if isolated else MarginMode.ISOLATED).name.lower()
    if position.size != 0 and position.isolated != isolated:
        return Refusal(
            ErrorCode.MARGIN_MODE_CONFLICT,
            f"your position in market {order.market} is {other} (fills not yet settled "
            f"included), this order is {mode}: sign marginMode {other} to trade it (the "
            f"SDK's margin_mode, the CLI's --isolated; a reduce-only order placed without "
            f"a mode takes the position's), or close the position first to trade {mode}",
        )
    for reservation in open_orders:
        theirs = reservation.signed.order
        if theirs.market == order.market and theirs.margin_mode is not order.margin_mode:
            return Refusal(
                ErrorCode.MARGIN_MODE_CONFLICT,
                f"you have open {other} orders in market {order.market}, which may fill "
                f"first and open a {other} position; this order is {mode}: sign "
                f"marginMode {other}, or cancel them first",
            )
    return None
