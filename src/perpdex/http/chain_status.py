"""What the API shows from the chain, read in the background: the routes never wait for
the chain (a slow or unreachable RPC node makes figures stale, never a request hang).

Every ``interval_s`` one worker thread reads the head block, each market's maximum
leverage, oracle (index) price and funding schedule, the rate of its last funding post
(``Markets.FundingPosted``, scanned once: each refresh reads only the new blocks), the
insurance fund and the latest journal checkpoint; the result replaces :attr:`snapshot`
whole. A failed refresh keeps the last snapshot and records the error.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, Final

from web3 import Web3

from perpdex.chain.deploy import ChainContracts, bind
from perpdex.chain.deployment import Deployment
from perpdex.chain.transact import connect
from perpdex.core.funding import FundingRate
from perpdex.core.types import Collateral, MarketId, Price
from perpdex.keeper.checkpoint import latest_checkpoint
from perpdex.logs import report_failure, report_recovery

log = logging.getLogger(__name__)

BLOCKS_PER_QUERY: Final = 2_000
"""Blocks per ``eth_getLogs`` call (public nodes cap the range)."""


@dataclass(frozen=True, slots=True)
class MarketOnChain:
    max_leverage: int
    index_price: Price
    """The oracle's latest answer in price units (as ``Markets`` reads it)."""
    funding_interval_s: int
    last_funding_s: int
    """Block time of the last funding post (0: never posted)."""
    funding_rate: FundingRate | None
    """The rate the last post applied, per interval (None: never posted)."""

    @property
    def next_funding_s(self) -> int:
        return self.last_funding_s + self.funding_interval_s


@dataclass(frozen=True, slots=True)
class ChainSnapshot:
    head: int
    head_time: int
    """Unix seconds of the head block."""
    markets: Mapping[MarketId, MarketOnChain]
    insurance_fund: Collateral
    checkpointed_seq: int
    read_at: float
    """``time.monotonic()`` when read."""


class ChainStatus:
    def __init__(self, deployment: Deployment, interval_s: float = 1.0) -> None:
        self._deployment = deployment
        self._interval_s = interval_s
        self.snapshot: ChainSnapshot | None = None
        self.error: str | None = None
        # one thread, so its web3 client is used by that thread alone
        self._executor = ThreadPoolExecutor(1, thread_name_prefix="http-chain-status")
        self._contracts: ChainContracts | None = None
        self._web3: Web3 | None = None
        self._scanned = deployment.start_block - 1
        self._rates: dict[MarketId, FundingRate] = {}

    async def run(self) -> None:
        """Refresh until cancelled."""
        loop = asyncio.get_running_loop()
        while True:
            try:
                self.snapshot = await loop.run_in_executor(self._executor, self._read)
                self.error = None
                report_recovery(log, self, "chain status read")
            except Exception as error:  # the RPC node may be down: try again next time
                self.error = str(error)
                report_failure(log, self, "chain status read", error)
            await asyncio.sleep(self._interval_s)

    def close(self) -> None:
        self._executor.shutdown(wait=False, cancel_futures=True)

    def _read(self) -> ChainSnapshot:
        if self._contracts is None or self._web3 is None:
            self._web3 = connect(self._deployment.rpc_url)
            self._contracts = bind(self._web3, self._deployment)
        web3, contracts = self._web3, self._contracts
        block = web3.eth.get_block("latest")
        head = int(block["number"])
        self._scan_funding(contracts, head)
        markets = {
            MarketId(listed.id): self._market(contracts, MarketId(listed.id), listed.symbol)
            for listed in self._deployment.markets
        }
        return ChainSnapshot(
            head=head,
            head_time=int(block["timestamp"]),
            markets=markets,
            insurance_fund=Collateral(int(contracts.exchange.functions.insurance_fund().call())),
            checkpointed_seq=latest_checkpoint(contracts.checkpoints).seq,
            read_at=time.monotonic(),
        )

    def _market(self, contracts: ChainContracts, market: MarketId, symbol: str) -> MarketOnChain:
        info = contracts.markets.functions.market_info(market).call()
        _, interval, _, last_posted = contracts.markets.functions.funding(market).call()
        _, answer, _, _, _ = contracts.oracles[symbol].functions.latestRoundData().call()
        return MarketOnChain(
            max_leverage=int(info[3]),
            index_price=Price(int(answer) // int(info[2])),
            funding_interval_s=int(interval),
            last_funding_s=int(last_posted),
            funding_rate=self._rates.get(market),
        )

    def _scan_funding(self, contracts: ChainContracts, head: int) -> None:
        event: Any = contracts.markets.events.FundingPosted()
        while self._scanned < head:
            first, last = self._scanned + 1, min(head, self._scanned + BLOCKS_PER_QUERY)
            for entry in event.get_logs(from_block=first, to_block=last):
                self._rates[MarketId(entry["args"]["market"])] = FundingRate(entry["args"]["rate"])
            self._scanned = last
