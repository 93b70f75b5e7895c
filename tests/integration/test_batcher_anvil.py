"""The settlement batcher against a real anvil: real signatures, real contract, no mocks."""

from __future__ import annotations

import argparse
import itertools
import re
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from eth_account.signers.local import LocalAccount
from web3 import Web3

from perpdex.chain.anvil import Anvil
from perpdex.chain.deploy import ChainContracts, bind, demo_wallets, deploy
from perpdex.chain.deployment import Deployment, ListedMarket, Role, load_deployment
from perpdex.chain.transact import send
from perpdex.cli import demo
from perpdex.core.eip712 import (
    ChainId,
    Eip712Domain,
    FeePpm,
    Nonce,
    Order,
    SignedOrder,
    UnixTime,
    sign_order,
)
from perpdex.core.signing import SigningKey, keccak256
from perpdex.core.types import Address, MarginMode, Price, Size, TimeInForce
from perpdex.settlement.batcher import Batcher
from perpdex.settlement.encoding import Match
from perpdex.settlement.outcomes import Rejected, RejectReason, Settled, SettlementReport
from perpdex.settlement.sizing import TRANSACTION_GAS_CAP

DAY = 86_400
_keys = itertools.count()


@dataclass
class Chain:
    """One deployment on the session anvil, and helpers to make traders and fills on it."""

    web3: Web3
    deployment: Deployment
    contracts: ChainContracts
    operator: LocalAccount
    admin: LocalAccount
    domain: Eip712Domain
    market: ListedMarket

    def batcher(
        self, *, gas_cap: int = TRANSACTION_GAS_CAP, receipt_timeout: float = 30.0
    ) -> Batcher:
        return Batcher(
            self.web3,
            self.contracts.exchange,
            self.operator,
            gas_cap=gas_cap,
            receipt_timeout=receipt_timeout,
            from_block=self.deployment.start_block,
        )

    def rpc(self, method: str, *params: object) -> object:
        return self.web3.provider.make_request(method, list(params)).get("result")  # type: ignore[arg-type]

    def await_pending(self, count: int) -> None:
        """Wait until the node's pool holds ``count`` transactions."""
        deadline = time.monotonic() + 10
        while len(self.web3.eth.get_block("pending")["transactions"]) != count:
            assert time.monotonic() < deadline, f"the pool never held {count} transactions"
            time.sleep(0.02)

    def traders(self, count: int, usdc: int = 100_000) -> list[SigningKey]:
        """``count`` new traders, each with ``usdc`` collateral deposited for it."""
        keys = [SigningKey(keccak256(f"batcher test {next(_keys)}".encode())) for _ in range(count)]
        amount = usdc * 10**6 * count
        collateral, exchange = self.contracts.collateral, self.contracts.exchange
        send(self.web3, self.admin, collateral.functions.faucet(self.admin.address, amount))
        send(self.web3, self.admin, collateral.functions.approve(exchange.address, amount))
        for key in keys:
            send(self.web3, self.admin, exchange.functions.deposit_for(key.address, usdc * 10**6))
        return keys

    def order(
        self, key: SigningKey, *, is_buy: bool, lots: int, limit: Price | None = None
    ) -> SignedOrder:
        order = Order(
            trader=key.address,
            market=self.market.id,
            is_buy=is_buy,
            size=Size(lots * self.market.lot_size),
            limit_price=limit or self.market.index_price,
            max_fee_ppm=FeePpm(self.market.taker_fee_ppm),
            margin_mode=MarginMode.CROSS,
            time_in_force=TimeInForce.GTC,
            reduce_only=False,
            expiry=UnixTime(self.web3.eth.get_block("latest")["timestamp"] + DAY),
            nonce=Nonce(next(_keys)),
        )
        return sign_order(order, key, self.domain)

    def fill(
        self, seller: SigningKey, buyer: SigningKey, *, lots: int = 1, price: Price | None = None
    ) -> Match:
        """The buyer's order crossing the seller's resting one, at ``price`` (default the
        index price, which both limits allow)."""
        return Match(
            maker=self.order(seller, is_buy=False, lots=lots),
            taker=self.order(buyer, is_buy=True, lots=lots),
            price=price or self.market.index_price,
            size=Size(lots * self.market.lot_size),
        )

    def position(self, trader: Address) -> int:
        size, *_ = self.contracts.exchange.functions.position(trader, self.market.id).call()
        return int(size)


@pytest.fixture(scope="module")
def chain(anvil: Anvil, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Chain]:
    abi_dir: Path = tmp_path_factory.mktemp("abi")
    deployment = deploy(anvil.rpc_url, demo_wallets(anvil.accounts), abi_dir=abi_dir)
    web3 = Web3(Web3.HTTPProvider(anvil.rpc_url))
    contracts = bind(web3, deployment)
    yield Chain(
        web3=web3,
        deployment=deployment,
        contracts=contracts,
        operator=deployment.wallet(Role.OPERATOR).account(),
        admin=deployment.wallet(Role.ADMIN).account(),
        domain=Eip712Domain(ChainId(deployment.chain_id), deployment.contracts.exchange),
        market=deployment.markets[0],
    )


def test_two_demo_wallets_trade_and_positions_appear_on_chain(chain: Chain) -> None:
    maker, trader = (
        SigningKey(bytes(chain.deployment.wallet(role).account().key))
        for role in (Role.MAKER, Role.TRADER)
    )
    fills = [chain.fill(maker, trader, lots=3), chain.fill(maker, trader, lots=2)]

    report = chain.batcher().settle(fills)

    assert [type(o) for o in report.outcomes] == [Settled, Settled]
    (transaction,) = report.transactions
    assert transaction.settled == 2 and transaction.attempts == 1
    assert report.settled[0].tx_hash == transaction.tx_hash
    lot = chain.market.lot_size
    assert chain.position(trader.address) == 5 * lot
    assert chain.position(maker.address) == -5 * lot


def test_an_invalid_fill_is_reported_and_the_others_settle(chain: Chain) -> None:
    a, b, c, d, e, f = chain.traders(6)
    above_limit = Price(chain.market.index_price + chain.market.tick_size)
    fills = [chain.fill(a, b), chain.fill(c, d, price=above_limit), chain.fill(e, f)]

    report = chain.batcher().settle(fills)

    first, bad, last = report.outcomes
    assert isinstance(first, Settled) and isinstance(last, Settled)
    assert isinstance(bad, Rejected) and bad.reason is RejectReason.PRICE_LIMIT
    assert bad.tx_hash == first.tx_hash  # the contract skipped it in the same transaction
    assert chain.position(d.address) == 0 and chain.position(f.address) > 0


def test_a_trader_without_margin_is_dropped_and_the_others_settle(chain: Chain) -> None:
    a, b, c, d = chain.traders(4)
    (poor,) = chain.traders(1, usdc=1)
    fills = [chain.fill(a, b), chain.fill(c, poor, lots=100), chain.fill(d, b)]

    report = chain.batcher().settle(fills)

    first, dropped, last = report.outcomes
    assert isinstance(first, Settled) and isinstance(last, Settled)
    assert isinstance(dropped, Rejected)
    assert dropped.reason is RejectReason.MARGIN_CHECK_FAILED and dropped.account == poor.address
    assert chain.position(poor.address) == 0 and chain.position(c.address) == 0
    assert chain.position(b.address) == 2 * chain.market.lot_size


def test_a_batch_over_the_gas_cap_is_split_and_every_fill_settles(chain: Chain) -> None:
    traders = chain.traders(40)
    fills = [chain.fill(traders[2 * i], traders[2 * i + 1]) for i in range(20)]

    # first fills cost ~90k gas each: 20 of them do not fit 1M gas
    report = chain.batcher(gas_cap=1_000_000).settle(fills)

    assert all(isinstance(o, Settled) for o in report.outcomes)
    assert len(report.transactions) >= 2
    assert all(t.gas_used <= 1_000_000 for t in report.transactions)
    assert sum(t.settled for t in report.transactions) == 20
    assert [t.nonce for t in report.transactions] == sorted({t.nonce for t in report.transactions})
    assert all(chain.position(t.address) != 0 for t in traders)


def test_a_restarted_batcher_does_not_settle_a_fill_twice(chain: Chain) -> None:
    a, b, c, d = chain.traders(4)
    fills = [chain.fill(a, b, lots=2), chain.fill(c, d)]
    first = chain.batcher().settle(fills)

    again = chain.batcher().settle([*fills, chain.fill(a, d)])

    for before, after in zip(first.outcomes, again.outcomes[:2], strict=True):
        assert isinstance(before, Settled) and isinstance(after, Settled)
        assert after.earlier and (after.tx_hash, after.block) == (before.tx_hash, before.block)
    assert isinstance(again.outcomes[2], Settled) and not again.outcomes[2].earlier
    lot = chain.market.lot_size
    assert chain.position(b.address) == 2 * lot and chain.position(d.address) == 2 * lot


def test_demo_trades_through_the_engine_and_settles_on_chain(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    parser = argparse.ArgumentParser()
    demo.add_arguments(parser)
    out = tmp_path / "local.json"

    assert demo.run(parser.parse_args(["--out", str(out)])) == 0

    printed = capsys.readouterr().out
    assert load_deployment(out).wallet(Role.TRADER).address in printed
    settled = re.findall(r"^\d+\s+settled\s+0x", printed, re.MULTILINE)
    assert len(settled) == 3  # the maker's three asks, crossed by one buy
    assert "0.12 BTC" in printed and "-0.12 BTC" in printed


def test_a_dropped_transaction_is_replaced_under_its_nonce_and_settles_once(chain: Chain) -> None:
    a, b = chain.traders(2)
    fills = [chain.fill(a, b)]
    reports: list[SettlementReport] = []
    batcher = chain.batcher(receipt_timeout=0.5)
    chain.rpc("evm_setAutomine", False)
    try:
        worker = threading.Thread(target=lambda: reports.append(batcher.settle(fills)))
        worker.start()
        chain.await_pending(1)
        chain.rpc("anvil_dropAllTransactions")  # lost: never mined
        chain.await_pending(1)  # its replacement, after the receipt timeout
        chain.rpc("evm_mine")
        worker.join(timeout=30)
    finally:
        chain.rpc("evm_setAutomine", True)

    (report,) = reports
    (outcome,) = report.outcomes
    (transaction,) = report.transactions
    assert isinstance(outcome, Settled) and outcome.tx_hash == transaction.tx_hash
    assert transaction.attempts == 2
    assert chain.position(b.address) == chain.market.lot_size
