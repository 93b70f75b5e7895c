"""Sign locally, send, and wait: the one way this package puts a transaction on chain.

Keys are held by the caller (an eth-account ``LocalAccount``), never by the node, so the same
code works against anvil and against any other JSON-RPC endpoint.
"""

from __future__ import annotations

from typing import cast

from eth_account.signers.local import LocalAccount
from eth_account.types import TransactionDictType
from web3 import Web3
from web3.contract.contract import ContractConstructor, ContractFunction
from web3.types import TxReceipt

RPC_TIMEOUT_SECONDS = 60


class TransactionFailedError(RuntimeError):
    """A mined transaction reverted (a revert found while estimating gas raises web3's
    ``ContractLogicError`` with the reason instead)."""


def connect(rpc_url: str) -> Web3:
    """A web3 client of ``rpc_url``, after checking that the node answers."""
    web3 = Web3(Web3.HTTPProvider(rpc_url, request_kwargs={"timeout": RPC_TIMEOUT_SECONDS}))
    if not web3.is_connected():
        raise ConnectionError(f"no JSON-RPC node answers at {rpc_url}")
    return web3


def send(
    web3: Web3, signer: LocalAccount, call: ContractFunction | ContractConstructor
) -> TxReceipt:
    """Send ``call`` from ``signer`` and return its receipt once mined; raises if it reverted."""
    transaction = call.build_transaction(
        {
            "from": signer.address,
            "nonce": web3.eth.get_transaction_count(signer.address, "pending"),
        }
    )
    # web3's TxParams and eth-account's dict type describe the same JSON-RPC transaction.
    signed = signer.sign_transaction(cast("TransactionDictType", transaction))
    tx_hash = web3.eth.send_raw_transaction(signed.raw_transaction)
    receipt = web3.eth.wait_for_transaction_receipt(tx_hash, timeout=RPC_TIMEOUT_SECONDS)
    if receipt["status"] != 1:
        raise TransactionFailedError(f"transaction {tx_hash.to_0x_hex()} reverted")
    return receipt
