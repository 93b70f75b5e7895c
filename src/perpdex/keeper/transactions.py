"""The keeper's transactions: one signer shared by every keeper task, no double submission.

Every task sends from the keeper key, from its own worker thread, so nonces are assigned
under one lock. Each transaction is sent under a *key* naming what it does (``("liquidate",
trader, market)``, ``("funding", market)``, ...): while a transaction under a key is still
in the node's pool, :meth:`Sender.in_flight` says so and the task waits instead of sending
the same action again. A restarted keeper first waits until the node holds no transaction
of the key's account any more (:meth:`Sender.submit` does it once), then reads the chain's
state afresh, so a transaction sent just before a crash is never doubled.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Hashable, Iterator
from typing import Final, cast

from eth_account.signers.local import LocalAccount
from eth_account.types import TransactionDictType
from hexbytes import HexBytes
from web3 import Web3
from web3.contract.contract import ContractFunction
from web3.exceptions import ContractLogicError, TransactionNotFound
from web3.types import TxReceipt

RECEIPT_TIMEOUT_S: Final = 60.0
_POLL_S: Final = 0.05
_REVERT_PREFIX: Final = "execution reverted: "


class Reverted(Exception):
    """The node refused the call (found while estimating gas) or a mined transaction
    reverted; ``reason`` is the contract's revert string when there is one."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def revert_reason(error: ContractLogicError) -> str:
    message = str(error.message or error)
    return message.removeprefix(_REVERT_PREFIX)


class Sender:
    """Signs and sends the keeper's transactions (see the module docstring)."""

    def __init__(
        self, web3: Web3, signer: LocalAccount, *, receipt_timeout: float = RECEIPT_TIMEOUT_S
    ) -> None:
        self.web3 = web3
        self.signer = signer
        self.receipt_timeout = receipt_timeout
        self._lock = threading.RLock()
        self._pending: dict[Hashable, HexBytes] = {}
        self._pool_checked = False

    @property
    def address(self) -> str:
        return str(self.signer.address)

    @contextlib.contextmanager
    def exclusive(self) -> Iterator[None]:
        """No transaction of this sender is sent meanwhile (for a caller that sends from the
        same key by other means, such as the checkpointer)."""
        with self._lock:
            yield

    def in_flight(self, key: Hashable) -> bool:
        """Whether the transaction last sent under ``key`` is still waiting in the pool
        (mined or dropped ones are forgotten)."""
        with self._lock:
            tx_hash = self._pending.get(key)
            if tx_hash is None:
                return False
            if self._mined(tx_hash) or not self._known(tx_hash):
                del self._pending[key]
                return False
            return True

    def submit(self, key: Hashable, call: ContractFunction) -> HexBytes:
        """Send ``call`` under ``key``; raises :class:`Reverted` if the node refuses it
        (the contract's reason), and never sends while ``key`` is :meth:`in_flight`."""
        if self.in_flight(key):
            raise Reverted(f"{key!r}: a transaction is still pending")
        with self._lock:
            if not self._pool_checked:
                self._await_empty_pool()
                self._pool_checked = True
            address = self.signer.address
            try:
                transaction = call.build_transaction(
                    {
                        "from": address,
                        "nonce": self.web3.eth.get_transaction_count(address, "pending"),
                    }
                )
            except ContractLogicError as error:
                raise Reverted(revert_reason(error)) from None
            # web3's TxParams and eth-account's dict type describe the same transaction
            signed = self.signer.sign_transaction(cast("TransactionDictType", transaction))
            tx_hash = self.web3.eth.send_raw_transaction(signed.raw_transaction)
            self._pending[key] = tx_hash
            return tx_hash

    def wait(self, key: Hashable, tx_hash: HexBytes) -> TxReceipt:
        """The receipt of ``tx_hash`` sent under ``key``; raises :class:`Reverted` if the
        transaction reverted when mined (the chain moved since it was estimated)."""
        receipt = self.web3.eth.wait_for_transaction_receipt(
            tx_hash, timeout=self.receipt_timeout, poll_latency=_POLL_S
        )
        with self._lock:
            if self._pending.get(key) == tx_hash:
                del self._pending[key]
        if receipt["status"] != 1:
            raise Reverted(f"transaction {tx_hash.to_0x_hex()} reverted when mined")
        return receipt

    def transact(self, key: Hashable, call: ContractFunction) -> TxReceipt:
        return self.wait(key, self.submit(key, call))

    def _mined(self, tx_hash: HexBytes) -> bool:
        try:
            self.web3.eth.get_transaction_receipt(tx_hash)
        except TransactionNotFound:
            return False
        return True

    def _known(self, tx_hash: HexBytes) -> bool:
        try:
            self.web3.eth.get_transaction(tx_hash)
        except TransactionNotFound:
            return False
        return True

    def _await_empty_pool(self) -> None:
        """Wait until every transaction this key sent (before a restart, say) is mined, so
        the state read next already includes them."""
        deadline = time.monotonic() + self.receipt_timeout
        address = self.signer.address
        while self.web3.eth.get_transaction_count(
            address, "pending"
        ) > self.web3.eth.get_transaction_count(address, "latest"):
            if time.monotonic() > deadline:
                raise TimeoutError(f"transactions of {address} stay pending")
            time.sleep(_POLL_S)
