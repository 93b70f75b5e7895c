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


def apply_after_delay(
    web3: Web3,
    sender: LocalAccount,
    markets: Contract,
    market: int,
    *,
    feeds: Iterable[Contract] = (),
    feed_owner: LocalAccount | None = None,
) -> TxReceipt:
    """Move a dev node's clock to the effective time of ``market``'s queued change,
    re-stamp ``feeds`` (as ``feed_owner``) and apply the change from ``sender``."""
    effective_at = int(markets.functions.pending_at(market).call())
    if effective_at == 0:
        raise ValueError(f"market {market} has no queued parameter change")
    now = int(web3.eth.get_block("latest")["timestamp"])
    if effective_at > now:
        web3.provider.make_request("evm_increaseTime", [effective_at - now])  # type: ignore[arg-type]
        web3.provider.make_request("evm_mine", [])  # type: ignore[arg-type]
    for feed in feeds:
        if feed_owner is None:
            raise ValueError("re-stamping the feeds needs their owner")
        _, answer, _, _, _ = feed.functions.latestRoundData().call()
        send(web3, feed_owner, feed.functions.set_answer(answer))
    return send(web3, sender, markets.functions.apply_params(market))
