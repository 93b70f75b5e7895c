"""The mock contracts deployed with web3 on a real anvil behave as in titanoboa."""

from __future__ import annotations

import pytest
from eth_account import Account
from eth_account.signers.local import LocalAccount
from web3 import Web3
from web3.contract import Contract
from web3.exceptions import ContractLogicError
from web3.logs import DISCARD

from perpdex.chain.anvil import Anvil
from perpdex.chain.artifacts import compile_contract
from perpdex.chain.transact import send
from perpdex.core.units import units

FEED_DECIMALS = 8
BTC_ANSWER = 100_000 * 10**FEED_DECIMALS


def _signer(anvil: Anvil, index: int) -> LocalAccount:
    account: LocalAccount = Account.from_key(anvil.accounts[index].private_key)
    return account


def _deploy(web3: Web3, deployer: LocalAccount, source: str, *args: object) -> Contract:
    artifact = compile_contract(source)
    factory = web3.eth.contract(abi=artifact.abi, bytecode=artifact.bytecode)
    receipt = send(web3, deployer, factory.constructor(*args))
    return web3.eth.contract(address=receipt["contractAddress"], abi=artifact.abi)


@pytest.fixture
def usdc(anvil: Anvil, web3: Web3) -> Contract:
    return _deploy(web3, _signer(anvil, 0), "mocks/MockUSDC.vy")


@pytest.fixture
def feed(anvil: Anvil, web3: Web3) -> Contract:
    return _deploy(web3, _signer(anvil, 0), "mocks/MockAggregator.vy", 8, "BTC / USD", BTC_ANSWER)


def test_usdc_faucet_and_transfer(anvil: Anvil, web3: Web3, usdc: Contract) -> None:
    trader, maker = _signer(anvil, 4), _signer(anvil, 3)
    send(web3, trader, usdc.functions.faucet(trader.address, 500))
    send(web3, trader, usdc.functions.transfer(maker.address, 200))

    assert usdc.functions.decimals().call() == units().collateral_decimals
    assert usdc.functions.symbol().call() == "USDC"
    assert usdc.functions.balanceOf(trader.address).call() == 300
    assert usdc.functions.balanceOf(maker.address).call() == 200


def test_usdc_faucet_event(anvil: Anvil, web3: Web3, usdc: Contract) -> None:
    keeper, trader = _signer(anvil, 2), _signer(anvil, 4)
    receipt = send(web3, keeper, usdc.functions.faucet(trader.address, 7))

    (event,) = usdc.events.Faucet().process_receipt(receipt, errors=DISCARD)  # skip Transfer
    assert dict(event["args"]) == {"caller": keeper.address, "to": trader.address, "amount": 7}


def test_feed_set_answer_stamps_the_block(anvil: Anvil, web3: Web3, feed: Contract) -> None:
    receipt = send(web3, _signer(anvil, 0), feed.functions.set_answer(BTC_ANSWER + 1))
    mined_at = web3.eth.get_block(receipt["blockNumber"])["timestamp"]

    assert feed.functions.latestRoundData().call() == [2, BTC_ANSWER + 1, mined_at, mined_at, 2]
    (event,) = feed.events.AnswerUpdated().process_receipt(receipt)
    assert (event["args"]["current"], event["args"]["round_id"]) == (BTC_ANSWER + 1, 2)


def test_feed_stale_answer(anvil: Anvil, web3: Web3, feed: Contract) -> None:
    send(web3, _signer(anvil, 0), feed.functions.set_answer_at(42, 1_000))
    assert feed.functions.latestRoundData().call()[1:4] == [42, 1_000, 1_000]


def test_feed_rejects_non_owner_with_reason(anvil: Anvil, web3: Web3, feed: Contract) -> None:
    with pytest.raises(ContractLogicError, match="ownable: caller is not the owner"):
        send(web3, _signer(anvil, 4), feed.functions.set_answer(1))
