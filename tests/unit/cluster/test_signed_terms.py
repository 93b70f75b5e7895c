"""The engine shard's check of a command's terms against its trader's signature: each term
a publisher could change is caught, an amend must be signed by the order's trader, and
commands without a trader's terms pass."""

from __future__ import annotations

from dataclasses import replace

import pytest

from perpdex.cluster.signed_terms import UnsignedCommandError, check_signed
from perpdex.core.eip712 import (
    ChainId,
    Eip712Domain,
    FeePpm,
    Nonce,
    Order,
    UnixTime,
    sign_order,
)
from perpdex.core.signing import SigningKey, keccak256
from perpdex.core.types import (
    Address,
    MarginMode,
    MarketId,
    OrderId,
    Price,
    Side,
    Size,
    TriggerDirection,
)
from perpdex.core.types import TimeInForce as Tif
from perpdex.engine.commands import Amend, Cancel, CancelAccount, Command, NewOrder
from perpdex.settlement.payload import order_payload

DOMAIN = Eip712Domain(ChainId(31337), Address("0x" + "11" * 20))
TRADER, OTHER = (SigningKey(keccak256(name)) for name in (b"trader", b"other"))
ORDER = Order(
    trader=TRADER.address,
    market=MarketId(1),
    is_buy=True,
    size=Size(3),
    limit_price=Price(100),
    max_fee_ppm=FeePpm(1_000),
    margin_mode=MarginMode.CROSS,
    time_in_force=Tif.GTC,
    reduce_only=False,
    expiry=UnixTime(2_000_000_000),
    nonce=Nonce(1),
)
SIGNED = sign_order(ORDER, TRADER, DOMAIN)
COMMAND = NewOrder(
    market=MarketId(1),
    order_id=OrderId(7),
    account=TRADER.address,
    side=Side.BUY,
    price=Price(100),
    size=Size(3),
    payload=order_payload(SIGNED),
)


def nobody(market: MarketId, order_id: OrderId) -> Address | None:
    return None


def test_an_order_as_signed_passes() -> None:
    check_signed(COMMAND, DOMAIN, nobody)
    check_signed(replace(COMMAND, account=Address(TRADER.address.lower())), DOMAIN, nobody)


@pytest.mark.parametrize(
    "changed",
    [
        {"account": OTHER.address},
        {"market": MarketId(2)},
        {"side": Side.SELL},
        {"price": Price(99)},
        {"size": Size(4)},
        {"tif": Tif.IOC},
        {"reduce_only": True},
        {"trigger": TriggerDirection.AT_OR_BELOW, "trigger_price": Price(90)},
    ],
    ids=lambda changed: ",".join(changed),
)
def test_a_term_other_than_signed_is_refused(changed: dict[str, object]) -> None:
    with pytest.raises(UnsignedCommandError, match=r"order #7 states .* its trader signed"):
        check_signed(replace(COMMAND, **changed), DOMAIN, nobody)  # type: ignore[arg-type]


def test_an_order_without_a_signature_of_its_trader_is_refused() -> None:
    with pytest.raises(UnsignedCommandError, match="order #7 carries no signed order"):
        check_signed(replace(COMMAND, payload=b""), DOMAIN, nobody)
    forged = replace(sign_order(replace(ORDER, trader=OTHER.address), OTHER, DOMAIN), order=ORDER)
    with pytest.raises(UnsignedCommandError, match="order #7 is not signed by its trader"):
        check_signed(replace(COMMAND, payload=order_payload(forged)), DOMAIN, nobody)
    elsewhere = Eip712Domain(ChainId(1), DOMAIN.verifying_contract)  # another deployment's
    with pytest.raises(UnsignedCommandError, match="is not signed by its trader"):
        check_signed(COMMAND, elsewhere, nobody)


def test_an_amend_must_carry_the_order_traders_signed_terms() -> None:
    replacing = sign_order(replace(ORDER, limit_price=Price(101), nonce=Nonce(2)), TRADER, DOMAIN)
    amend = Amend(
        market=MarketId(1),
        order_id=OrderId(7),
        price=Price(101),
        size=Size(3),
        payload=order_payload(replacing),
    )

    def owner(market: MarketId, order_id: OrderId) -> Address | None:
        return TRADER.address if (market, order_id) == (1, 7) else None

    check_signed(amend, DOMAIN, owner)
    with pytest.raises(UnsignedCommandError, match="states price 102 size 3"):
        check_signed(replace(amend, price=Price(102)), DOMAIN, owner)
    with pytest.raises(UnsignedCommandError, match="the amend of order #7 carries no signed"):
        check_signed(replace(amend, payload=b""), DOMAIN, owner)
    with pytest.raises(UnsignedCommandError, match=f"the order is {OTHER.address}'s"):
        check_signed(amend, DOMAIN, lambda market, order_id: OTHER.address)


@pytest.mark.parametrize(
    "command", [Cancel(MarketId(1), OrderId(7)), CancelAccount(TRADER.address)]
)
def test_commands_without_a_traders_terms_pass(command: Command) -> None:
    check_signed(command, DOMAIN, nobody)
