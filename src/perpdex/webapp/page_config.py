"""``GET /config``: the deployment as the pages see it, each part taken from its one
definition (EIP-712 types from :mod:`perpdex.core.eip712`, scales from ``units.vy``), so the
page signs and converts exactly as the SDK does instead of retyping a type string or a scale."""

from __future__ import annotations

from typing import Any

import msgspec

from perpdex.chain.deployment import Deployment, ListedMarket
from perpdex.core.eip712 import (
    CANCEL_TYPE,
    DOMAIN_TYPE,
    LOGIN_TYPE,
    ORDER_TYPE,
    RECEIPT_TYPE,
    ChainId,
    Eip712Domain,
)
from perpdex.core.units import units
from perpdex.receipts import receipt_domain
from perpdex.webapp.demo_wallets import is_local_only

SIGNED_TYPES = (DOMAIN_TYPE, ORDER_TYPE, CANCEL_TYPE, LOGIN_TYPE, RECEIPT_TYPE)
CHECKPOINTS_ABI = "Checkpoints"
COLLATERAL_ABI = "MockUSDC"
EXCHANGE_ABI = "Exchange"


class MarketView(msgspec.Struct, rename="camel", frozen=True):
    """A listed market's fixed terms, in contract units (the page converts for display)."""

    id: int
    symbol: str
    tick_size: int
    lot_size: int
    max_leverage: int
    initial_margin_ppm: int
    maintenance_margin_ppm: int
    maker_fee_ppm: int
    taker_fee_ppm: int

    @classmethod
    def of(cls, market: ListedMarket) -> MarketView:
        return cls(
            market.id,
            market.symbol,
            market.tick_size,
            market.lot_size,
            market.max_leverage,
            market.initial_margin_ppm,
            market.maintenance_margin_ppm,
            market.maker_fee_ppm,
            market.taker_fee_ppm,
        )


class UnitsView(msgspec.Struct, rename="camel", frozen=True):
    size_decimals: int
    price_decimals: int
    collateral_decimals: int
    fraction_scale: int


class PageConfig(msgspec.Struct, rename="camel", frozen=True):
    chain_id: int
    rpc_url: str | None
    """Only for a local-only deployment: another node's URL may carry an API key, and
    the page then reads the chain through the injected wallet's provider."""
    gateway_url: str | None
    local_only: bool
    start_block: int
    exchange: str
    collateral: str
    checkpoints: str
    eip712: dict[str, Any]
    """``domain`` and ``types``: the typed-data members a wallet's ``eth_signTypedData_v4``
    takes (``primaryType`` and ``message`` are the page's); ``receiptDomain``: the
    Checkpoints contract's, in which the operator signs the ``Receipt`` of each order."""
    units: UnitsView
    markets: list[MarketView]
    abi: dict[str, Any]
    """``exchange``, ``collateral`` and ``checkpoints``: the ABIs of the deployment file, for
    the page's chain transactions (deposit, withdrawal) and reads (the receipts' operator)."""


def page_config(deployment: Deployment) -> PageConfig:
    domain = Eip712Domain(ChainId(deployment.chain_id), deployment.contracts.exchange)
    receipts = receipt_domain(deployment.chain_id, deployment.contracts.checkpoints)
    scales = units()
    local = is_local_only(deployment)
    return PageConfig(
        chain_id=deployment.chain_id,
        rpc_url=deployment.rpc_url if local else None,
        gateway_url=deployment.gateway_url,
        local_only=local,
        start_block=deployment.start_block,
        exchange=deployment.contracts.exchange,
        collateral=deployment.contracts.collateral,
        checkpoints=deployment.contracts.checkpoints,
        eip712={
            "domain": DOMAIN_TYPE.message(domain),
            "receiptDomain": DOMAIN_TYPE.message(receipts),
            "types": {t.name: t.eip712_fields() for t in SIGNED_TYPES},
        },
        units=UnitsView(
            scales.size_decimals,
            scales.price_decimals,
            scales.collateral_decimals,
            scales.fraction_scale,
        ),
        markets=[MarketView.of(market) for market in deployment.markets],
        abi={
            "exchange": deployment.abi[EXCHANGE_ABI],
            "collateral": deployment.abi[COLLATERAL_ABI],
            "checkpoints": deployment.abi[CHECKPOINTS_ABI],
        },
    )
