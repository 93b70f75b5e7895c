"""``/health`` (each service, how far each stage is) and ``/metrics`` (Prometheus)."""

from __future__ import annotations

import time
from typing import Final

from fastapi import APIRouter, Request, Response
from prometheus_client import generate_latest

from perpdex.http import models
from perpdex.http.metrics import CONTENT_TYPE
from perpdex.http.reads import SourcesDep

CHAIN_READ_STALE_S: Final = 60.0
"""A chain read older than this makes the node unhealthy."""

router = APIRouter(tags=["node"])


@router.get("/health", response_model=models.Health)
async def health(sources: SourcesDep) -> models.Health:
    """Always 200 while the process answers: ``ok`` says whether all is well."""
    progress = sources.progress()
    chain = sources.chain.snapshot
    head = None if chain is None else chain.head
    fresh = chain is not None and time.monotonic() - chain.read_at < CHAIN_READ_STALE_S
    lag = (
        None
        if head is None or progress.folded_block is None
        else max(head - progress.folded_block, 0)
    )
    return models.Health(
        ok=fresh and all(progress.services.values()),
        services=[
            models.Service(name=name, running=running)
            for name, running in progress.services.items()
        ],
        chain_head=head,
        folded_block=progress.folded_block,
        chain_head_lag=lag,
        chain_error=sources.chain.error,
        journal_seq=progress.journal_seq,
        durable_seq=progress.durable_seq,
        settled_seq=progress.settled_seq,
        checkpointed_seq=None if chain is None else chain.checkpointed_seq,
        shards=[models.ShardReplica(shard=p.shard, seq=p.seq, lag=p.lag) for p in progress.shards],
    )


@router.get(
    "/metrics",
    response_class=Response,
    responses={200: {"content": {CONTENT_TYPE: {"schema": {"type": "string"}}}}},
)
async def metrics(request: Request) -> Response:
    """The node's counters and gauges in Prometheus' text format."""
    return Response(generate_latest(request.app.state.metrics), media_type=CONTENT_TYPE)
