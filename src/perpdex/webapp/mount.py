"""Serve the built pages and their routes on an ASGI app (the HTTP API's FastAPI app)."""

from __future__ import annotations

from collections.abc import Callable
from http import HTTPStatus
from pathlib import Path

import msgspec
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse, Response
from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles

from perpdex.chain.deployment import Deployment
from perpdex.webapp.demo_wallets import NotLocalError, demo_wallets
from perpdex.webapp.page_config import page_config

STATIC_DIR = Path(__file__).resolve().parent / "static"
"""Where ``web/build.mjs`` (run by ``make setup``) writes the bundles; git-ignored."""

PAGES = {"/": "trade.html", "/dashboard": "dashboard.html"}
NOT_BUILT = "the web app is not built: run `make setup` (npm ci, then node web/build.mjs)"
NO_STORE = {"Cache-Control": "no-store"}
"""The pages and bundles change with every build, and a local exchange restarts often."""


def mount(
    app: Starlette, deployment: Callable[[], Deployment], static_dir: Path = STATIC_DIR
) -> None:
    """Add the pages, ``/assets``, ``/config`` and ``/demo-wallets`` to ``app``.

    ``deployment`` is read on each request: the node fills in its ``gateway_url`` once the
    gateway listens, after the app is built. Pages that were never built answer 503 with
    what to run (the API itself does not need them, so the node still starts).
    """

    def page(name: str) -> Callable[[Request], Response]:
        def serve(_: Request) -> Response:
            if not (static_dir / name).is_file():
                return JSONResponse(
                    {"code": "unavailable", "message": f"{NOT_BUILT}: no {static_dir / name}"},
                    status_code=HTTPStatus.SERVICE_UNAVAILABLE,
                )
            return FileResponse(static_dir / name, headers=NO_STORE)

        return serve

    def config(_: Request) -> Response:
        return _json(page_config(deployment()))

    def wallets(_: Request) -> Response:
        try:
            return _json(demo_wallets(deployment()))
        except NotLocalError as refused:
            return JSONResponse(
                {"code": "forbidden", "message": f"no demo wallets: {refused}"},
                status_code=HTTPStatus.FORBIDDEN,
            )

    routes: list[BaseRoute] = [
        Route(path, page(name), methods=["GET"]) for path, name in PAGES.items()
    ]
    routes += [
        Route("/config", config, methods=["GET"]),
        Route("/demo-wallets", wallets, methods=["GET"]),
        Mount("/assets", StaticFiles(directory=static_dir / "assets", check_dir=False)),
    ]
    app.router.routes.extend(routes)


def _json(value: object) -> Response:
    return Response(msgspec.json.encode(value), media_type="application/json", headers=NO_STORE)
