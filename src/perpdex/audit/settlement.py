"""The replay's fills against the chain's outcomes, both ways.

Every ``Filled`` on chain must be a fill of the replay with the same order hashes, price
and size, and the settled ones must come in match order; every ``FillRejected`` must name
a fill of the replay. Each fill of the replay then ends settled, rejected on chain (with
the chain's reason), dropped as the journal reports it (``ChainCancel`` with the fill and
the batcher's or chain's reason), or still pending (matched, not yet settled).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from perpdex.audit.findings import Check, Discrepancy
from perpdex.audit.names import OrderNames
from perpdex.audit.onchain import ChainOutcome
from perpdex.audit.replay import MatchedFill, ReportedDrop


@dataclass
class SettlementTally:
    settled: int = 0
    rejected: int = 0
    """Refused on chain (``FillRejected``)."""
    dropped: int = 0
    """Never sent, or sent and reverted, as the journal reports."""
    pending: int = 0
    resent: int = 0
    """Refusals on chain of fills that had already ended (settled or refused): resends."""
    reasons: dict[str, int] = field(default_factory=dict)
    found: list[Discrepancy] = field(default_factory=list)


_SETTLED = "settled"
_REJECTED = "rejected on chain: "


def compare(
    fills: Sequence[MatchedFill],
    drops: Sequence[ReportedDrop],
    outcomes: Sequence[ChainOutcome],
    names: OrderNames,
) -> SettlementTally:
    tally = SettlementTally()
    by_orders: dict[tuple[str | None, str | None], list[int]] = {}
    for number, fill in enumerate(fills):
        key = (names.hash_of(fill.maker_payload), names.hash_of(fill.taker_payload))
        by_orders.setdefault(key, []).append(number)
    ended: dict[int, str] = {}  # fill number -> how it ended
    newest_settled = -1
    for outcome in outcomes:
        open_ = [
            n for n in by_orders.get((outcome.maker_hash, outcome.taker_hash), ()) if n not in ended
        ]
        if outcome.settled:
            same = [
                n for n in open_ if (fills[n].price, fills[n].size) == (outcome.price, outcome.size)
            ]
            if not same:
                tally.found.append(_unmatched(outcome, fills, open_))
                continue
            number = same[0]
            ended[number] = _SETTLED
            tally.settled += 1
            if number < newest_settled:
                tally.found.append(
                    Discrepancy(
                        Check.SETTLEMENT,
                        fills[number].seq,
                        f"settled out of match order (tx {outcome.tx}): a fill matched after it"
                        " settled before it",
                        outcome.taker_hash,
                        {"tx": outcome.tx},
                    )
                )
            newest_settled = max(newest_settled, number)
        elif open_:
            ended[open_[0]] = f"{_REJECTED}{outcome.reason}"
            tally.rejected += 1
            _count(tally, f"{outcome.reason} (chain)")
        elif (outcome.maker_hash, outcome.taker_hash) in by_orders:
            # a fill that already ended, sent again (a restarted batcher's resend): the
            # contract refused it, nothing moved
            tally.resent += 1
        else:
            tally.found.append(
                Discrepancy(
                    Check.SETTLEMENT,
                    None,
                    f"the operator sent a fill of maker {outcome.maker_hash} and this taker that"
                    f" the journal never matched (refused on chain: {outcome.reason}, tx"
                    f" {outcome.tx})",
                    outcome.taker_hash,
                    {"tx": outcome.tx, "block": outcome.block},
                )
            )
    for drop in drops:
        tally.found += _dropped(drop, fills, by_orders, ended, tally)
    tally.pending = len(fills) - len(ended)
    return tally


def _dropped(
    drop: ReportedDrop,
    fills: Sequence[MatchedFill],
    by_orders: dict[tuple[str | None, str | None], list[int]],
    ended: dict[int, str],
    tally: SettlementTally,
) -> list[Discrepancy]:
    rejected = drop.fill
    key = ("0x" + rejected.maker_hash.hex(), "0x" + rejected.taker_hash.hex())
    same = [
        n
        for n in by_orders.get(key, ())
        if (fills[n].price, fills[n].size) == (rejected.price, rejected.size)
    ]
    on_chain = [ended[n] for n in same if ended.get(n, "").startswith(_REJECTED)]
    if on_chain:  # the chain refused it; the journal must tell the traders why
        reason = on_chain[0].removeprefix(_REJECTED)
        if reason == rejected.cause:
            return []
        return [
            Discrepancy(
                Check.SETTLEMENT,
                drop.seq,
                f"the journal tells the traders a fill was refused for {rejected.cause}; the"
                f" chain refused it for {reason}",
                key[1],
            )
        ]
    waiting = [n for n in same if n not in ended]
    if waiting:
        ended[waiting[0]] = f"dropped: {rejected.cause}"
        tally.dropped += 1
        _count(tally, f"{rejected.cause} (dropped)")
        return []
    what = "settled on chain" if same else "never matched by the journal"
    return [
        Discrepancy(
            Check.SETTLEMENT,
            drop.seq,
            f"the journal tells the traders a fill was refused ({rejected.cause}) that was {what}",
            key[1],
        )
    ]


def _unmatched(
    outcome: ChainOutcome, fills: Sequence[MatchedFill], open_: list[int]
) -> Discrepancy:
    if open_:
        matched = fills[open_[0]]
        return Discrepancy(
            Check.SETTLEMENT,
            matched.seq,
            f"settled {outcome.size} at {outcome.price} on chain (tx {outcome.tx}); the journal"
            f" matched these orders for {matched.size} at {matched.price}",
            outcome.taker_hash,
            {"tx": outcome.tx},
        )
    return Discrepancy(
        Check.SETTLEMENT,
        None,
        f"settled on chain (tx {outcome.tx}, block {outcome.block}): {outcome.size} at"
        f" {outcome.price} against maker {outcome.maker_hash}, a fill the journal never matched",
        outcome.taker_hash,
        {"tx": outcome.tx, "block": outcome.block, "maker_hash": outcome.maker_hash},
    )


def _count(tally: SettlementTally, reason: str) -> None:
    tally.reasons[reason] = tally.reasons.get(reason, 0) + 1
