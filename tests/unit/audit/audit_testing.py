"""Journals for the audit's unit tests: written by the engine's own sequencer and journal,
then audited from the file (without a chain unless a test gives one)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from functools import partial
from pathlib import Path

from tests.unit.engine.engine_workloads import MARKETS, Run, Timed

from perpdex.audit.audit import AuditSetup, ChainView, run_audit
from perpdex.audit.report import Report
from perpdex.audit.source import open_source
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
from perpdex.core.types import Address, MarginMode, MarketId, OrderId, Price, Size
from perpdex.core.types import TimeInForce as Tif
from perpdex.engine.commands import NewOrder
from perpdex.engine.config import MarketConfig
from perpdex.engine.file_journal import FileJournal
from perpdex.settlement.payload import order_payload

DOMAIN = Eip712Domain(ChainId(31337), Address("0x000000000000000000000000000000000000dEaD"))


def write_journal(path: Path, commands: list[Timed]) -> Path:
    journal = FileJournal(path)
    Run(journal=journal).feed(commands)
    journal.close()
    return path


def audit(
    path: Path,
    markets: Sequence[MarketConfig] = MARKETS,
    chain: ChainView | None = None,
    *,
    from_seq: int = 1,
    domain: Eip712Domain | None = DOMAIN,
) -> Report:
    """``domain`` None: a journal of unsigned orders (the engine's random workloads)."""
    setup = AuditSetup(markets=markets, domain=domain, chain=chain, from_seq=from_seq)
    return run_audit(partial(open_source, str(path)), setup)


def key(name: str) -> SigningKey:
    return SigningKey(keccak256(name.encode()))


def signed_order(
    trader: SigningKey,
    order_id: int,
    *,
    buy: bool,
    price: int,
    size: int = 1,
    tif: Tif = Tif.GTC,
    signer: SigningKey | None = None,
) -> NewOrder:
    """A NewOrder as the gateway makes it: the journal's fields from the signed order.
    ``signer``: a key other than the trader's, for an order made up in the trader's name."""
    order = Order(
        trader=trader.address,
        market=MarketId(0),
        is_buy=buy,
        size=Size(size),
        limit_price=Price(price),
        max_fee_ppm=FeePpm(1_000),
        margin_mode=MarginMode.CROSS,
        time_in_force=tif,
        reduce_only=False,
        expiry=UnixTime(0),
        nonce=Nonce(order_id),
    )
    if signer is None:
        signed = sign_order(order, trader, DOMAIN)
    else:  # the forger signs the same terms as its own, then puts the trader's name on them
        signed = replace(
            sign_order(replace(order, trader=signer.address), signer, DOMAIN), order=order
        )
    return NewOrder(
        market=MarketId(0),
        order_id=OrderId(order_id),
        account=trader.address,
        side=order.side,
        price=Price(price),
        size=Size(size),
        tif=tif,
        payload=order_payload(signed),
    )


def misstated(order: NewOrder, **fields: object) -> NewOrder:
    """``order`` with journal fields that differ from its signed order."""
    return replace(order, **fields)  # type: ignore[arg-type]
