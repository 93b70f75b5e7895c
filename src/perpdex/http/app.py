"""The ASGI app: ``create_app(sources)``, with the web app's pages added by ``mounts``.

A mount is a function that adds routes to the app (``perpdex.webapp`` serves the trading
page at ``/`` and the operator dashboard at ``/dashboard``); the API's own routes are
added first, so a mount cannot shadow them.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence

from fastapi import FastAPI

from perpdex.http import errors
from perpdex.http.journal_pages import Anchors
from perpdex.http.metrics import registry_of
from perpdex.http.reads import SLOW_READS
from perpdex.http.routes import account, health, journal, markets, operator
from perpdex.http.sources import Sources

Mount = Callable[[FastAPI], None]

TITLE = "perpdex"
VERSION = "1"


def create_app(sources: Sources, mounts: Sequence[Mount] = ()) -> FastAPI:
    app = FastAPI(
        title=TITLE,
        version=VERSION,
        summary="Reads of a perpdex node: markets, accounts, the journal, its health",
        openapi_url="/openapi.json",
        # no Swagger or ReDoc page: FastAPI loads them from a CDN, and the machine may be
        # offline; /openapi.json is the document any viewer reads
        docs_url=None,
        redoc_url=None,
    )
    app.state.sources = sources
    app.state.metrics = registry_of(sources)
    app.state.journal_anchors = Anchors()
    app.state.slow_reads = asyncio.Semaphore(SLOW_READS)
    errors.install(app)
    for router in (markets.router, account.router, journal.router, operator.router, health.router):
        app.include_router(router)
    for mount in mounts:
        mount(app)
    return app
