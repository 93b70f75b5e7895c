"""The web trading app and the operator dashboard: built front-end files served on the
HTTP API's ASGI app, plus the few routes only the pages need (docs/web.md).

``mount(app, deployment)`` adds, to a Starlette (or FastAPI) app:

* ``/`` the trading page, ``/dashboard`` the operator dashboard, ``/assets/...`` their
  bundles (built by ``make setup`` from ``web/`` into :data:`STATIC_DIR`);
* ``/config``: what the pages need to know of the deployment (chain, gateway, contracts,
  EIP-712 types, unit scales, markets), from the one Python definition of each;
* ``/demo-wallets``: on a local-only deployment, the dev accounts a visitor may trade
  with (their keys are public knowledge); refused otherwise.
"""

from perpdex.webapp.mount import STATIC_DIR, mount

__all__ = ["STATIC_DIR", "mount"]
