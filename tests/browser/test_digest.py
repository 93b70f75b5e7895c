"""The page signs orders byte for byte as the SDK does: for the same terms typed in the
ticket (decimals, flags, triggers), the page's EIP-712 digest and its demo wallet's
signature equal what perpdex.core.eip712 computes from the SDK's conversions."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest
from eth_account import Account
from starlette.applications import Starlette
from tests.browser.browser_testing import chromium, offline_deployment, page_of, serving

from perpdex.chain.deployment import Deployment, Role
from perpdex.core.eip712 import (
    ChainId,
    Eip712Domain,
    FeePpm,
    Nonce,
    Order,
    UnixTime,
    sign_order,
)
from perpdex.core.signing import SigningKey
from perpdex.core.types import MarginMode, TimeInForce
from perpdex.sdk.amounts import (
    InexactConversionError,
    NonPositiveAmountError,
    OffGridError,
    order_price,
    order_size,
)
from perpdex.sdk.triggers import Trigger
from perpdex.webapp import mount

_TIF = {"gtc": TimeInForce.GTC, "ioc": TimeInForce.IOC, "fok": TimeInForce.FOK,
        "post_only": TimeInForce.POST_ONLY}  # fmt: skip
_MODE = {"cross": MarginMode.CROSS, "isolated": MarginMode.ISOLATED}

BASE = {
    "market": 0, "side": "buy", "size": "0.015", "price": "100000.5", "timeInForce": "gtc",
    "reduceOnly": False, "marginMode": "cross", "trigger": "none", "triggerPrice": "",
}  # fmt: skip
TERMS: list[dict[str, Any]] = [
    BASE,
    {**BASE, "side": "sell", "size": "12.5", "price": "0.1", "timeInForce": "post_only"},
    {**BASE, "market": 1, "size": "3.07", "price": "2999.99", "marginMode": "isolated"},
    {**BASE, "timeInForce": "ioc", "reduceOnly": True, "maxFeePpm": 0},
    {**BASE, "timeInForce": "fok", "size": "184467440737.0951"},  # above 2^53 size units
    # a long's stop-loss and take-profit, a short's stop
    {**BASE, "side": "sell", "reduceOnly": True, "trigger": "below", "triggerPrice": "95000"},
    {**BASE, "side": "sell", "reduceOnly": True, "trigger": "above", "triggerPrice": "120000.1"},
    {
        **BASE,
        "market": 1,
        "size": "0.25",
        "timeInForce": "ioc",
        "trigger": "above",
        "triggerPrice": "3300.01",
    },
]
NONCE = (1_790_000_000 << 20) + 7  # the clock seed's range: far above 2^53
EXPIRY = 1_790_086_400


def sdk_order(deployment: Deployment, terms: dict[str, Any]) -> Order:
    """The order perpdex.sdk.client's _place_request builds for ``terms``."""
    listed = deployment.markets[terms["market"]]
    trigger = (
        Trigger.parse(terms["triggerPrice"], terms["trigger"], listed)
        if terms["trigger"] != "none"
        else Trigger.parse(None, None, listed)
    )
    return Order(
        trader=deployment.wallet(Role.TRADER).address,
        market=listed.id,
        is_buy=terms["side"] == "buy",
        size=order_size(terms["size"], listed),
        limit_price=order_price(terms["price"], listed),
        max_fee_ppm=FeePpm(terms.get("maxFeePpm", max(listed.maker_fee_ppm, listed.taker_fee_ppm))),
        margin_mode=_MODE[terms["marginMode"]],
        time_in_force=_TIF[terms["timeInForce"]],
        reduce_only=terms["reduceOnly"],
        expiry=UnixTime(EXPIRY),
        nonce=Nonce(NONCE),
        trigger_price=trigger.price,
        trigger_direction=trigger.direction,
    )


def test_page_digest_and_signature_equal_the_sdks() -> None:
    deployment = offline_deployment()
    domain = Eip712Domain(ChainId(deployment.chain_id), deployment.contracts.exchange)
    trader = deployment.wallet(Role.TRADER)
    assert trader.private_key is not None
    demo = {"label": "trader", "address": trader.address, "privateKey": trader.private_key,
            "localOnly": True}  # fmt: skip

    async def scenario() -> list[dict[str, Any]]:
        app = Starlette()
        mount(app, lambda: deployment)
        async with serving(app) as url, chromium() as browser, page_of(browser, url) as page:
            return [
                await page.evaluate(
                    "([t, terms, n, e, demo]) => perpdex.preview(t, terms, n, e, demo)",
                    [trader.address, terms, str(NONCE), str(EXPIRY), demo],
                )
                for terms in TERMS
            ]

    previews = asyncio.run(scenario())
    for terms, preview in zip(TERMS, previews, strict=True):
        order = sdk_order(deployment, terms)
        signed = sign_order(order, SigningKey(bytes.fromhex(trader.private_key[2:])), domain)
        assert preview["digest"] == "0x" + domain.digest(order).hex(), terms
        # RFC 6979 on both sides: one key and one digest give one signature
        assert preview["signature"] == "0x" + signed.signature.to_bytes().hex(), terms
        assert preview["order"]["triggerDirection"] == int(order.trigger_direction)


INJECTED_WALLET = """
window.ethereum = {
  request: async ({ method, params }) => {
    if (method === "eth_requestAccounts" || method === "eth_accounts") return [%r];
    if (method === "eth_signTypedData_v4") return await window.walletSignTypedData(...params);
    throw new Error(`the test wallet does not do ${method}`);
  },
};
"""
"""An EIP-1193 wallet whose eth_signTypedData_v4 is eth-account's ``sign_typed_data``, as
a wallet extension signs: the page must send it typed data that signs to the SDK's bytes."""


def test_an_injected_wallet_signs_the_sdks_bytes() -> None:
    deployment = offline_deployment()
    domain = Eip712Domain(ChainId(deployment.chain_id), deployment.contracts.exchange)
    trader = deployment.wallet(Role.TRADER)
    assert trader.private_key is not None
    asked: list[dict[str, Any]] = []

    def wallet_sign(address: str, typed_data: str) -> str:
        assert address.lower() == trader.address.lower()
        message = json.loads(typed_data)
        asked.append(message)
        return (
            "0x" + Account.sign_typed_data(trader.private_key, full_message=message).signature.hex()
        )

    async def scenario() -> list[dict[str, Any]]:
        app = Starlette()
        mount(app, offline_deployment)
        async with serving(app) as url, chromium() as browser:
            context = await browser.new_context()
            await context.add_init_script(INJECTED_WALLET % trader.address)
            await context.expose_function("walletSignTypedData", wallet_sign)
            page = await context.new_page()
            await page.goto(url)
            await page.wait_for_selector("body[data-ready=true]", state="attached")
            return [
                await page.evaluate(
                    "([t, terms, n, e]) => perpdex.preview(t, terms, n, e, 'injected')",
                    [trader.address, terms, str(NONCE), str(EXPIRY)],
                )
                for terms in TERMS[-3:]  # a plain order and two triggers
            ]

    previews = asyncio.run(scenario())
    for terms, preview, message in zip(TERMS[-3:], previews, asked, strict=True):
        order = sdk_order(deployment, terms)
        assert message["primaryType"] == "Order"
        assert message["domain"]["verifyingContract"] == deployment.contracts.exchange.lower()
        signed = sign_order(order, SigningKey(bytes.fromhex(trader.private_key[2:])), domain)
        assert preview["signature"] == "0x" + signed.signature.to_bytes().hex(), terms


REFUSED: list[tuple[dict[str, Any], type[Exception], str]] = [
    ({**BASE, "size": "0.00015"}, OffGridError, "is not a multiple of BTC-PERP's lot 0.0001"),
    ({**BASE, "price": "100000.05"}, OffGridError, "is not a multiple of BTC-PERP's tick 0.1"),
    ({**BASE, "size": "0.000000001"}, InexactConversionError, "more than 8 decimals"),
    ({**BASE, "size": "0"}, NonPositiveAmountError, "size must be positive"),
    ({**BASE, "trigger": "below", "triggerPrice": "9.99"}, OffGridError, "trigger price"),
]


def test_page_refuses_what_the_sdk_refuses() -> None:
    for terms, sdk_error, _ in REFUSED:
        with pytest.raises(sdk_error):
            sdk_order(offline_deployment(), terms)

    async def scenario() -> list[str]:
        app = Starlette()
        mount(app, offline_deployment)
        async with serving(app) as url, chromium() as browser, page_of(browser, url) as page:
            return [
                await page.evaluate(
                    """async ([terms, n, e]) => {
                        try { await perpdex.preview("0x" + "11".repeat(20), terms, n, e); }
                        catch (error) { return error.message; }
                        return "accepted";
                    }""",
                    [terms, str(NONCE), str(EXPIRY)],
                )
                for terms, _, _ in REFUSED
            ]

    for (_, _, expected), message in zip(REFUSED, asyncio.run(scenario()), strict=True):
        assert expected in message
