"""Funding history against the node of `perpdex up` on a private anvil (its clock moves):
the keeper posts a funding rate from the engine's book, a later fill settles it into both
positions, and `Client.funding_history` shows each payment the chain logged, in decimals,
paged by cursor."""

from __future__ import annotations

import asyncio
from decimal import Decimal
from pathlib import Path

from tests.integration.node_testing import maker_and_trader, running, settled, until

from perpdex.chain.anvil import Anvil
from perpdex.chain.deploy import bind
from perpdex.chain.deployment import Role
from perpdex.chain.param_changes import advance_to, apply_after_delay
from perpdex.chain.transact import connect, send
from perpdex.cli.up import fresh_deployment
from perpdex.core.units import from_collateral_units

INTERVAL_S = 60  # the contract's shortest funding interval
RATE_CAP = 500_000  # 0.05% per interval (FUNDING_RATE_SCALE 1e9)
TTL_S = 10 * 86_400  # the chain's clock runs days ahead of the wall clock here


def test_funding_history_shows_each_payment_the_chain_settled(tmp_path: Path) -> None:
    with Anvil() as anvil:
        deployment = fresh_deployment(anvil.rpc_url)
        web3 = connect(anvil.rpc_url)
        contracts = bind(web3, deployment)
        markets = contracts.markets
        admin = deployment.wallet(Role.ADMIN).account()
        keeper = deployment.wallet(Role.KEEPER).account()
        send(web3, admin, markets.functions.set_funding_params(0, INTERVAL_S, RATE_CAP))
        apply_after_delay(
            web3, admin, markets, 0, feeds=contracts.oracles.values(), feed_owner=keeper
        )

        async def scenario() -> None:
            async with (
                running(deployment, tmp_path / "state") as node,
                maker_and_trader(node, tmp_path) as (maker, trader),
            ):
                assert (await trader.funding_history()).items == []
                await maker.place("BTC-PERP", "sell", "0.1", "100000", ttl_s=TTL_S)
                await trader.place("BTC-PERP", "buy", "0.1", "100000", ttl_s=TTL_S)
                # the book's mid 0.15% above the index: the keeper posts the cap, longs pay
                await maker.place("BTC-PERP", "sell", "0.1", "100200", ttl_s=TTL_S)
                await maker.place("BTC-PERP", "buy", "0.1", "100100", ttl_s=TTL_S)
                await settled(node)
                await asyncio.sleep(1.0)  # a few keeper ticks sample the mid
                now = int(web3.eth.get_block("latest")["timestamp"])
                advance_to(web3, now + INTERVAL_S + 1)
                await until(lambda: markets.functions.funding(0).call()[0] > 0, "a funding post")
                # a fill touches both positions: the contract settles their funding
                await trader.place("BTC-PERP", "buy", "0.01", "100200", ttl_s=TTL_S)
                await settled(node)

                paid = (await trader.funding_history("BTC-PERP")).items
                received = (await maker.funding_history()).items
                logs = contracts.exchange.events.FundingSettled().get_logs(
                    from_block=deployment.start_block
                )
                by_trader = {
                    (log["args"]["trader"], from_collateral_units(log["args"]["amount"]))
                    for log in logs
                }
                assert {(trader.address, p.amount) for p in paid} <= by_trader
                assert {(maker.address, p.amount) for p in received} <= by_trader
                assert len(paid) + len(received) == len(logs)
                assert paid[-1].amount < 0 < received[-1].amount  # the long paid the short
                assert paid[-1].market == "BTC-PERP" and paid[-1].index > 0
                assert (
                    paid[-1].block
                    == web3.eth.get_transaction_receipt(
                        next(
                            log["transactionHash"]
                            for log in logs
                            if log["args"]["trader"] == trader.address and log["args"]["amount"] < 0
                        )
                    )["blockNumber"]
                )
                # pages by cursor: after the first payment, the rest
                first = await trader.funding_history(limit=1)
                assert (first.items, first.next) == (paid[:1], paid[0].cursor)
                rest = await trader.funding_history(after=paid[0].cursor)
                assert rest.items == paid[1:]
                assert (await trader.funding_history("ETH-PERP")).items == []
                assert all(isinstance(p.amount, Decimal) for p in paid)

        asyncio.run(scenario())
