"""What the operator dashboard shows, under ``/operator/``: settlement batches (gas per
fill) and refused fills, the keeper's actions (liquidations, deleveragings, funding
posts, oracle pushes), the insurance fund and the funding rates. From the node's
operator log (``operator_log.py``: newest first, a bounded window since the node
started) and its chain status."""

from __future__ import annotations

from collections import deque
from typing import Annotated, Final, TypeVar

from fastapi import APIRouter, Query

from perpdex.core.funding import bounds
from perpdex.http import models
from perpdex.http.amounts import fraction_text, price_text, size_text, usdc_text
from perpdex.http.errors import ERROR_RESPONSES
from perpdex.http.operator_log import KEPT, KeeperRecord
from perpdex.http.reads import SourcesDep
from perpdex.http.sources import Sources

DEFAULT_LIMIT: Final = 100

_T = TypeVar("_T")

router = APIRouter(prefix="/operator", tags=["operator"], responses=ERROR_RESPONSES)

Limit = Annotated[int, Query(ge=1, le=KEPT)]
Kind = Annotated[
    str | None,
    Query(
        pattern="^(liquidation|deleverage|funding|oracle)$",
        description="Only actions of this kind",
    ),
]


@router.get("/settlement", response_model=models.Settlement)
async def settlement(sources: SourcesDep, limit: Limit = DEFAULT_LIMIT) -> models.Settlement:
    log, symbols = sources.operator, _symbols(sources)
    return models.Settlement(
        batches=[
            models.SettleBatch(
                time=b.time_ms,
                tx_hash=b.tx_hash,
                block=b.block,
                fills=b.fills,
                settled=b.settled,
                gas_used=b.gas_used,
                gas_per_fill=b.gas_used // b.settled if b.settled else None,
            )
            for b in _newest(log.batches, limit)
        ],
        refused=[
            models.RefusedFill(
                time=r.time_ms,
                market=symbols.get(r.market, str(r.market)),
                price=price_text(r.price),
                size=size_text(r.size),
                maker=r.maker,
                taker=r.taker,
                reason=r.reason,
                tx_hash=r.tx_hash,
            )
            for r in _newest(log.refused, limit)
        ],
        refusals=dict(log.refusals),
    )


@router.get("/keeper", response_model=list[models.KeeperAction])
async def keeper(
    sources: SourcesDep, kind: Kind = None, limit: Limit = DEFAULT_LIMIT
) -> list[models.KeeperAction]:
    """The node keeper's mined actions, newest first."""
    symbols = _symbols(sources)
    picked = [r for r in reversed(sources.operator.keeper) if kind in (None, r.kind)]
    return [_action(symbols, record) for record in picked[:limit]]


@router.get("/liquidations", response_model=list[models.KeeperAction])
async def liquidations(
    sources: SourcesDep, limit: Limit = DEFAULT_LIMIT
) -> list[models.KeeperAction]:
    """Liquidation steps and deleveragings by the node's keeper, newest first."""
    symbols = _symbols(sources)
    picked = [
        r for r in reversed(sources.operator.keeper) if r.kind in ("liquidation", "deleverage")
    ]
    return [_action(symbols, record) for record in picked[:limit]]


@router.get("/insurance-fund", response_model=models.InsuranceFund)
async def insurance_fund(sources: SourcesDep) -> models.InsuranceFund:
    chain = sources.chain.snapshot
    return models.InsuranceFund(
        balance=None if chain is None else usdc_text(chain.insurance_fund),
        block=None if chain is None else chain.head,
    )


@router.get("/funding", response_model=list[models.FundingRate])
async def funding(sources: SourcesDep) -> list[models.FundingRate]:
    """Each market's last funding rate and when the next post is due, as last read."""
    chain = sources.chain.snapshot
    rates: list[models.FundingRate] = []
    for listed in sources.deployment.markets:
        market = None if chain is None else chain.markets.get(listed.id)
        rates.append(
            models.FundingRate(
                market=listed.symbol,
                rate=None
                if market is None or market.funding_rate is None
                else fraction_text(market.funding_rate, bounds().rate_scale),
                interval_s=None if market is None else market.funding_interval_s,
                next_funding_time=None if market is None else market.next_funding_s * 1000,
            )
        )
    return rates


def _symbols(sources: Sources) -> dict[int, str]:
    return {listed.id: listed.symbol for listed in sources.deployment.markets}


def _newest(records: deque[_T], limit: int) -> list[_T]:
    return [records[-1 - i] for i in range(min(limit, len(records)))]


def _action(symbols: dict[int, str], record: KeeperRecord) -> models.KeeperAction:
    rate = record.rate
    return models.KeeperAction(
        time=record.time_ms,
        kind=record.kind,
        market=symbols.get(record.market, str(record.market)),
        tx_hash=record.tx_hash,
        block=record.block,
        trader=record.trader,
        counterparty=record.counterparty,
        funding_rate=None if rate is None else fraction_text(rate, bounds().rate_scale),
        price=None if record.price is None else price_text(record.price),
    )
