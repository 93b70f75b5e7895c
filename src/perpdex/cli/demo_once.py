"""``perpdex demo --once``: start anvil, deploy perpdex, and run one real trade through the
engine and the chain."""

from __future__ import annotations

import argparse
import sys
from typing import TYPE_CHECKING

from perpdex.cli.console import plain, run_interruptible, serve, table
from perpdex.cli.deploy import format_deployment

# The chain, engine and settlement modules load web3, eth-account and vyper: they are
# imported in run(), so building the `perpdex` parser stays fast.
if TYPE_CHECKING:
    from web3.contract import Contract

    from perpdex.chain.deployment import Deployment, ListedMarket
    from perpdex.core.eip712 import Eip712Domain, SignedOrder
    from perpdex.core.signing import SigningKey
    from perpdex.engine.events import Filled
    from perpdex.settlement.outcomes import SettlementReport

ASKS = (("0", "0.05"), ("10", "0.05"), ("20", "0.05"))
"""The maker's resting sells: (price above the index, size in BTC)."""
BUY_SIZE, BUY_ABOVE_INDEX = "0.12", "20"
"""The trader's buy, which crosses all three asks (the last one partly)."""
DAY = 86_400


def run(args: argparse.Namespace) -> int:
    return run_interruptible(_run, args)


def _run(args: argparse.Namespace) -> int:
    from web3.exceptions import Web3Exception

    from perpdex.chain.anvil import Anvil, AnvilError
    from perpdex.chain.deploy import bind, demo_wallets, deploy
    from perpdex.chain.deployment import DEFAULT_DEPLOYMENT_PATH, Role, write_deployment
    from perpdex.chain.transact import TransactionFailedError, connect
    from perpdex.core.eip712 import ChainId, Eip712Domain
    from perpdex.settlement.batcher import Batcher, SubmissionError
    from perpdex.settlement.payload import match_from_fill

    try:
        with Anvil(log_path=args.anvil_log) as node:
            deployment = deploy(node.rpc_url, demo_wallets(node.accounts))
            path = write_deployment(deployment, args.out or DEFAULT_DEPLOYMENT_PATH)
            print(format_deployment(deployment))
            print(f"\ndeployment file: {path}")

            web3 = connect(node.rpc_url)
            exchange = bind(web3, deployment).exchange
            domain = Eip712Domain(ChainId(deployment.chain_id), deployment.contracts.exchange)
            market = deployment.market("BTC-PERP")
            expiry = int(web3.eth.get_block("latest")["timestamp"]) + DAY
            fills = trade(deployment, market, domain, expiry)
            print("\nengine fills (BTC-PERP)\n" + _fills_table(fills))

            operator = deployment.wallet(Role.OPERATOR).account()
            batcher = Batcher(web3, exchange, operator, from_block=deployment.start_block)
            report = batcher.settle([match_from_fill(fill, domain) for fill in fills])
            print("\nsettlement\n" + _settlement_table(report))
            print("\non-chain accounts\n" + _accounts_table(exchange, deployment, market))
            return serve(node) if args.keep_running else 0
    except (
        AnvilError,
        TransactionFailedError,
        SubmissionError,
        ConnectionError,
        Web3Exception,
        ValueError,
    ) as error:
        print(f"error: {error}", file=sys.stderr)
        return 1


def trade(
    deployment: Deployment, market: ListedMarket, domain: Eip712Domain, expiry: int
) -> list[Filled]:
    """The maker rests ``ASKS`` in a real matching engine and the trader's buy crosses them;
    returns the engine's fills, each carrying both signed orders as payloads."""
    from perpdex.chain.deployment import Role
    from perpdex.core.signing import SigningKey
    from perpdex.core.types import OrderId, Price
    from perpdex.core.units import to_price_units
    from perpdex.engine import Engine, EventBus, MarketConfig, NewOrder, Sequencer, WallClock
    from perpdex.engine.events import Filled
    from perpdex.settlement.payload import order_payload

    fills: list[Filled] = []
    bus = EventBus(book_deltas=False)
    bus.subscribe(lambda event: fills.append(event) if isinstance(event, Filled) else None)
    engine = Engine([MarketConfig(market.id, market.tick_size, market.lot_size)], bus)
    sequencer = Sequencer(engine, WallClock())

    maker, trader = (
        SigningKey(bytes(deployment.wallet(role).account().key))
        for role in (Role.MAKER, Role.TRADER)
    )
    orders = [
        (maker, False, Price(market.index_price + to_price_units(above)), size)
        for above, size in ASKS
    ]
    orders.append(
        (trader, True, Price(market.index_price + to_price_units(BUY_ABOVE_INDEX)), BUY_SIZE)
    )
    for order_id, (key, is_buy, price, size) in enumerate(orders, start=1):
        signed = _signed(key, market, domain, is_buy, price, size, expiry, order_id)
        sequencer.submit(
            NewOrder(
                market=market.id,
                order_id=OrderId(order_id),
                account=key.address,
                side=signed.order.side,
                price=signed.order.limit_price,
                size=signed.order.size,
                payload=order_payload(signed),
            )
        )
    return fills


def _signed(
    key: SigningKey,
    market: ListedMarket,
    domain: Eip712Domain,
    is_buy: bool,
    price: int,
    size: str,
    expiry: int,
    nonce: int,
) -> SignedOrder:
    from perpdex.core.eip712 import FeePpm, Nonce, Order, UnixTime, sign_order
    from perpdex.core.types import MarginMode, Price, TimeInForce
    from perpdex.core.units import to_size_units

    order = Order(
        trader=key.address,
        market=market.id,
        is_buy=is_buy,
        size=to_size_units(size),
        limit_price=Price(price),
        max_fee_ppm=FeePpm(market.taker_fee_ppm),
        margin_mode=MarginMode.CROSS,
        time_in_force=TimeInForce.GTC,
        reduce_only=False,
        expiry=UnixTime(expiry),
        nonce=Nonce(nonce),
    )
    return sign_order(order, key, domain)


def _fills_table(fills: list[Filled]) -> str:
    from perpdex.core.types import Price, Size
    from perpdex.core.units import from_price_units, from_size_units

    return table(
        ("seq", "maker order", "taker order", "taker side", "price", "size"),
        [
            (
                str(f.seq),
                str(f.maker_order_id),
                str(f.taker_order_id),
                f.taker_side.name.lower(),
                plain(from_price_units(Price(f.price))),
                plain(from_size_units(Size(f.size))),
            )
            for f in fills
        ],
    )


def _settlement_table(report: SettlementReport) -> str:
    from perpdex.settlement.outcomes import Settled

    transactions = table(
        ("settle transaction", "block", "nonce", "fills", "settled", "gas used", "gas/fill"),
        [
            (
                t.tx_hash,
                str(t.block),
                str(t.nonce),
                str(t.fills),
                str(t.settled),
                f"{t.gas_used:,}",
                f"{t.gas_used // max(t.fills, 1):,}",
            )
            for t in report.transactions
        ],
    )
    outcomes = table(
        ("fill", "outcome", "transaction / reason"),
        [
            (str(i), "settled", o.tx_hash)
            if isinstance(o, Settled)
            else (str(i), "rejected", o.reason.value)
            for i, o in enumerate(report.outcomes, start=1)
        ],
    )
    return f"{transactions}\n\n{outcomes}"


def _accounts_table(exchange: Contract, deployment: Deployment, market: ListedMarket) -> str:
    from perpdex.chain.deployment import Role
    from perpdex.core.types import Collateral, Size
    from perpdex.core.units import from_collateral_units, from_size_units

    rows: list[tuple[str, ...]] = []
    for role in (Role.MAKER, Role.TRADER):
        address = deployment.wallet(role).address
        size, quote, _, _ = exchange.functions.position(address, market.id).call()
        collateral, _, _ = exchange.functions.account(address).call()
        rows.append(
            (
                role.value,
                address,
                f"{plain(from_size_units(Size(size)))} {market.symbol.split('-')[0]}",
                plain(from_collateral_units(Collateral(quote))),
                plain(from_collateral_units(Collateral(collateral))),
            )
        )
    return table(("wallet", "address", "position", "quote leg (USDC)", "collateral (USDC)"), rows)
