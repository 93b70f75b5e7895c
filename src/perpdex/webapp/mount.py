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
NO_STORE = {"Cache-Control": "no-store"}
"""The pages and bundles change with every build, and a local exchange restarts often."""


class WebAppNotBuiltError(RuntimeError):
    """The static folder has no built pages: ``make setup`` (npm ci, then the build) was not run."""


def mount(
    app: Starlette, deployment: Callable[[], Deployment], static_dir: Path = STATIC_DIR
) -> None:
    """Add the pages, ``/assets``, ``/config`` and ``/demo-wallets`` to ``app``.

    ``deployment`` is read on each request: the node fills in its ``gateway_url`` once the
    gateway listens, after the app is built. Raises :class:`WebAppNotBuiltError` at once if
    the pages were never built, rather than serving 404s to a browser.
    """
    missing = [name for name in PAGES.values() if not (static_dir / name).is_file()]
    if missing:
        raise WebAppNotBuiltError(f"{static_dir} lacks {', '.join(missing)}: run `make setup`")

    def page(name: str) -> Callable[[Request], Response]:
        def serve(_: Request) -> Response:
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
        Mount("/assets", StaticFiles(directory=static_dir / "assets"), name="assets"),
    ]
    # first: no API route has these paths, and an API catch-all must not shadow them
    app.router.routes[:0] = routes


def _json(value: object) -> Response:
    return Response(msgspec.json.encode(value), media_type="application/json", headers=NO_STORE)
