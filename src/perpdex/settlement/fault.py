"""Which order of a refused fill is at fault: the node cancels the rest of that order only.

The node used to cancel the rest of both orders of every fill the chain refused. That let
a trader pull any counterparty's resting order at no cost: sign a trigger order that the
oracle un-triggers before the batch lands (``TRIGGER_NOT_REACHED``), or close one's own
nonce on chain between the match and the settlement (``ORDER_CLOSED``), and the market
maker's whole rest left the book. Now each reason names the side(s) whose order or account
failed; the innocent side keeps its remaining size (its trader is still told of the
refused fill). A reason that cannot name one side (the operator's own encoding, a shared
term the engine should have kept, a batch that failed as a whole) ends both, as before.

``FillRejected`` carries no side, so a one-side reason is pinned by re-checking the two
orders against what failed; when that check names neither (the node's view lags the
chain's) both are ended, the old rule, rather than guess.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from enum import Enum
from types import MappingProxyType

from perpdex.core.eip712.signed import SignedOrder
from perpdex.core.types import Address
from perpdex.settlement.outcomes import Rejected, RejectReason


@dataclass(frozen=True, slots=True)
class ChainView:
    """What the node knows of the chain when it reads a refusal: whether a trader's nonce
    is closed, and the fill's market fees (maker, taker; None: no quote yet)."""

    nonce_closed: Callable[[Address, int], bool]
    fees_ppm: tuple[int, int] | None


class Fault(Enum):
    """Which side a reason blames; ``BOTH`` where no single order can be named."""

    BOTH = "both orders: the fill or the batch failed, not one order"
    TRIGGER = "the trigger order(s) of the fill"
    NAMED_ACCOUNT = "the order(s) of the trader the margin check named"
    CLOSED_NONCE = "the order(s) whose nonce is closed on chain"
    EARLIEST_EXPIRY = "the order(s) expiring first (if one expired, that one did)"
    FEE_CAP = "the order(s) whose signed fee cap is below its role's fee"
    REDUCE_ONLY = "the reduce-only order(s)"
    TAKER = "the taker (only the taker's fill-or-kill term is checked)"


FAULTS: Mapping[RejectReason, Fault] = MappingProxyType(
    {
        RejectReason.BAD_INDEX: Fault.BOTH,  # the operator's encoding
        # the engine verified both signatures at entry: which one the chain refuses
        # (a trigger word the operator encoded wrong, say) is not the trader's doing
        RejectReason.BAD_SIGNATURE: Fault.BOTH,
        RejectReason.MARKET: Fault.BOTH,  # shared terms the engine matched on
        RejectReason.SAME_SIDE: Fault.BOTH,
        RejectReason.PRICE_LIMIT: Fault.BOTH,
        RejectReason.OFF_GRID: Fault.BOTH,
        RejectReason.EXPIRED: Fault.EARLIEST_EXPIRY,
        RejectReason.TIME_IN_FORCE: Fault.BOTH,  # the engine gave an order a role it lacks
        RejectReason.FEE_ABOVE_MAX: Fault.FEE_CAP,
        RejectReason.ORDER_CLOSED: Fault.CLOSED_NONCE,
        RejectReason.OVERFILL: Fault.BOTH,  # the chain's filled sizes, not read here
        RejectReason.REDUCE_ONLY: Fault.REDUCE_ONLY,
        RejectReason.MARGIN_MODE: Fault.BOTH,  # the chain's position modes, not read here
        RejectReason.SELF_TRADE: Fault.BOTH,
        RejectReason.ISOLATED_DEFICIT: Fault.BOTH,  # the batch reverts on it
        RejectReason.OUT_OF_RANGE: Fault.BOTH,
        RejectReason.FILL_OR_KILL: Fault.TAKER,
        RejectReason.TRIGGER_NOT_REACHED: Fault.TRIGGER,
        RejectReason.MARGIN_CHECK_FAILED: Fault.NAMED_ACCOUNT,
        RejectReason.REVERTS_BATCH: Fault.BOTH,
        RejectReason.OVER_GAS_CAP: Fault.BOTH,
        RejectReason.REVERTED: Fault.BOTH,
        RejectReason.FAILS_ALONE: Fault.BOTH,
    }
)


def at_fault(outcome: Rejected, chain: ChainView) -> tuple[SignedOrder, ...]:
    """The orders of ``outcome``'s fill whose rest the node cancels: those its reason
    blames, or both when it names neither."""
    match = outcome.match
    maker, taker = match.maker, match.taker
    fault = FAULTS[outcome.reason]
    blamed: tuple[bool, bool]
    if fault is Fault.TRIGGER:
        blamed = (maker.order.is_trigger, taker.order.is_trigger)
    elif fault is Fault.NAMED_ACCOUNT:
        blamed = (maker.order.trader == outcome.account, taker.order.trader == outcome.account)
    elif fault is Fault.CLOSED_NONCE:
        blamed = (
            chain.nonce_closed(maker.order.trader, maker.order.nonce),
            chain.nonce_closed(taker.order.trader, taker.order.nonce),
        )
    elif fault is Fault.EARLIEST_EXPIRY:
        first = min(maker.order.expiry, taker.order.expiry)
        blamed = (maker.order.expiry == first, taker.order.expiry == first)
    elif fault is Fault.FEE_CAP:
        maker_fee, taker_fee = chain.fees_ppm or (0, 0)
        blamed = (maker.order.max_fee_ppm < maker_fee, taker.order.max_fee_ppm < taker_fee)
    elif fault is Fault.REDUCE_ONLY:
        blamed = (maker.order.reduce_only, taker.order.reduce_only)
    elif fault is Fault.TAKER:
        blamed = (False, True)
    else:
        blamed = (True, True)
    if not any(blamed):
        return (maker, taker)
    return tuple(side for side, guilty in zip((maker, taker), blamed, strict=True) if guilty)
