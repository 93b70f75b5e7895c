"""Putting a queued change of a market's parameters in effect on a dev chain.

A listed market's parameters change in two steps: the admin's setter queues the change
(``ParamsQueued``, with its effective time), and ``Markets.apply_params`` puts it in effect
once ``PARAMS_DELAY`` has passed, longer than any withdrawal delay. On anvil the wait is
skipped by moving the node's clock; the mock feeds are then re-stamped at their latest
answer, which would otherwise be older than any market's price age.
"""

from __future__ import annotations

from collections.abc import Iterable

from eth_account.signers.local import LocalAccount
from web3 import Web3
from web3.contract import Contract
from web3.types import TxReceipt

from perpdex.chain.transact import send


def advance_to(web3: Web3, timestamp: int) -> None:
    """Mine a dev node's next block at ``timestamp`` at the earliest."""
    now = int(web3.eth.get_block("latest")["timestamp"])
    if timestamp > now:
        web3.provider.make_request("evm_increaseTime", [timestamp - now])  # type: ignore[arg-type]
        web3.provider.make_request("evm_mine", [])  # type: ignore[arg-type]


def restamp_feeds(web3: Web3, owner: LocalAccount, feeds: Iterable[Contract]) -> None:
    """Each mock feed's heartbeat: its latest answer again, stamped now (as ``owner``)."""
    for feed in feeds:
        _, answer, _, _, _ = feed.functions.latestRoundData().call()
        send(web3, owner, feed.functions.set_answer(answer))


def apply_after_delay(
    web3: Web3,
    sender: LocalAccount,
    markets: Contract,
    market: int,
    *,
    feeds: Iterable[Contract],
    feed_owner: LocalAccount,
) -> TxReceipt:
    """Move a dev node's clock to the effective time of ``market``'s queued change,
    re-stamp ``feeds`` and apply the change from ``sender``."""
    effective_at = int(markets.functions.pending_at(market).call())
    if effective_at == 0:
        raise ValueError(f"market {market} has no queued parameter change")
    advance_to(web3, effective_at)
    restamp_feeds(web3, feed_owner, feeds)
    return send(web3, sender, markets.functions.apply_params(market))
