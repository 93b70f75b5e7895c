"""The constructor's configuration, as a ccxt user writes it:

    perpdex({"privateKey": "0x...", "deployment": "deployments/local.json"})

Keys (anything else is refused, so a typo does not silently change nothing):

* ``privateKey``: the wallet's key, 0x-hex. Without it only public methods work.
* ``walletAddress``: optional; if given it must be the key's address.
* ``deployment``: the deployment file (a path) or a loaded ``Deployment``; default
  ``deployments/local.json``.
* ``gatewayUrl``: the gateway's WebSocket URL; default the deployment's ``gateway_url``
  (``perpdex up`` writes it).
* ``options``: ``defaultSlippage`` (a market order's worst price is this fraction beyond the
  best opposite price, default ``"0.05"``), ``defaultMarginMode`` (``cross``),
  ``stateDir`` (the nonce files' folder, default the SDK's), ``orderTtlSeconds``.
* ``enableRateLimit``, ``timeout``, ``verbose``: accepted for ccxt compatibility, no
  effect (the gateway limits requests itself; the SDK has its own timeouts).
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

from perpdex.ccxt.errors import AuthenticationError, BadRequest
from perpdex.chain.deployment import (
    DEFAULT_DEPLOYMENT_PATH,
    Deployment,
    DeploymentFileError,
    load_deployment,
)
from perpdex.core.types import MarginMode
from perpdex.sdk.client import DEFAULT_ORDER_TTL_S
from perpdex.sdk.errors import InvalidKeyError
from perpdex.sdk.keys import Wallet

DEFAULT_SLIPPAGE = Decimal("0.05")
IGNORED_KEYS = frozenset({"enableRateLimit", "timeout", "verbose"})
KNOWN_KEYS = frozenset({"privateKey", "walletAddress", "deployment", "gatewayUrl", "options"})
KNOWN_OPTIONS = frozenset({"defaultSlippage", "defaultMarginMode", "stateDir", "orderTtlSeconds"})
MARGIN_MODES = {"cross": MarginMode.CROSS, "isolated": MarginMode.ISOLATED}


@dataclass(frozen=True, slots=True)
class Config:
    deployment: Deployment
    gateway_url: str | None
    wallet: Wallet | None
    slippage: Decimal
    margin_mode: MarginMode
    state_dir: Path | None
    order_ttl_s: int


def parse_config(config: dict[str, Any]) -> Config:
    unknown = set(config) - KNOWN_KEYS - IGNORED_KEYS
    if unknown:
        raise BadRequest(
            f"unknown configuration keys {sorted(unknown)} (known: {sorted(KNOWN_KEYS)})"
        )
    options: dict[str, Any] = dict(config.get("options") or {})
    unknown = set(options) - KNOWN_OPTIONS
    if unknown:
        raise BadRequest(f"unknown options {sorted(unknown)} (known: {sorted(KNOWN_OPTIONS)})")
    deployment = _deployment(config.get("deployment", DEFAULT_DEPLOYMENT_PATH))
    wallet = _wallet(config.get("privateKey"), config.get("walletAddress"))
    state_dir = options.get("stateDir")
    return Config(
        deployment=deployment,
        gateway_url=config.get("gatewayUrl") or deployment.gateway_url,
        wallet=wallet,
        slippage=_fraction(options.get("defaultSlippage", DEFAULT_SLIPPAGE)),
        margin_mode=margin_mode(options.get("defaultMarginMode", "cross")),
        state_dir=None if state_dir is None else Path(state_dir),
        order_ttl_s=int(options.get("orderTtlSeconds", DEFAULT_ORDER_TTL_S)),
    )


def margin_mode(name: str) -> MarginMode:
    try:
        return MARGIN_MODES[name.lower()]
    except (KeyError, AttributeError):
        raise BadRequest(f"marginMode must be cross or isolated, got {name!r}") from None


def _deployment(source: Any) -> Deployment:
    if isinstance(source, Deployment):
        return source
    try:
        return load_deployment(Path(source))
    except DeploymentFileError as error:
        raise BadRequest(str(error)) from None


def _wallet(key: Any, address: Any) -> Wallet | None:
    if key is None:
        if address is not None:
            raise AuthenticationError("walletAddress needs the privateKey that signs for it")
        return None
    try:
        wallet = Wallet.from_private_key(key)
    except InvalidKeyError as error:
        raise AuthenticationError(str(error)) from None
    if address is not None and str(address).lower() != wallet.address.lower():
        raise AuthenticationError(f"privateKey signs for {wallet.address}, not {address}")
    return wallet


def _fraction(text: Any) -> Decimal:
    try:
        fraction = Decimal(str(text))
    except InvalidOperation:
        raise BadRequest(f"defaultSlippage must be a number, got {text!r}") from None
    if not 0 < fraction < 1:
        raise BadRequest(f"defaultSlippage must be between 0 and 1, got {text}")
    return fraction
