"""The keeper's view of the chain: typed reads of the Markets registry and the Exchange, and
the keeper's transactions (sent through the shared :class:`Sender`). Blocking: every task
calls it from a worker thread."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from hexbytes import HexBytes
from web3 import Web3
from web3.contract import Contract
from web3.contract.contract import ContractFunction

from perpdex.chain.deploy import ChainContracts
from perpdex.core.funding import FundingRate
from perpdex.core.margin import FundingIndex
from perpdex.core.types import Address, MarketId, Price
from perpdex.keeper.transactions import Sender


@dataclass(frozen=True, slots=True)
class Quote:
    """``Markets.price``: the price positions are valued at, and whether it is fresh."""

    price: Price
    fresh: bool


@dataclass(frozen=True, slots=True)
class FundingState:
    """``Markets.funding``: the index, the interval (s), the cap (FUNDING_RATE_SCALE) and
    the block time of the last post."""

    index: FundingIndex
    interval: int
    rate_cap: FundingRate
    last_posted: int

    @property
    def due_at(self) -> int:
        return self.last_posted + self.interval


@dataclass(frozen=True, slots=True)
class Step:
    """A keeper transaction that was mined."""

    block: int
    tx_hash: bytes


class KeeperChain:
    """Reads and writes of one deployment, from the keeper key of ``sender``."""

    def __init__(
        self,
        contracts: ChainContracts,
        sender: Sender,
        oracles: Mapping[MarketId, Contract],
        listed: Sequence[MarketId],
    ) -> None:
        self.exchange = contracts.exchange
        self.markets = contracts.markets
        self.sender = sender
        self.oracles = dict(oracles)
        self.listed = tuple(listed)

    @property
    def web3(self) -> Web3:
        return self.sender.web3

    @property
    def keeper(self) -> Address:
        return Address(self.sender.address)

    # -- reads ----------------------------------------------------------------------------

    def block_number(self) -> int:
        return int(self.web3.eth.block_number)

    def block_timestamp(self) -> int:
        return int(self.web3.eth.get_block("latest")["timestamp"])

    def quote(self, market: MarketId) -> Quote:
        price, fresh = self.markets.functions.price(market).call()
        return Quote(Price(price), bool(fresh))

    def quotes(self) -> dict[MarketId, Quote]:
        return {market: self.quote(market) for market in self.listed}

    def funding(self, market: MarketId) -> FundingState:
        index, interval, cap, last_posted = self.markets.functions.funding(market).call()
        return FundingState(FundingIndex(index), interval, FundingRate(cap), last_posted)

    def funding_rate_scale(self) -> int:
        return int(self.markets.functions.FUNDING_RATE_SCALE().call())

    def oracle_decimals(self, market: MarketId) -> int:
        return int(self.oracles[market].functions.decimals().call())

    def insurance_fund(self) -> int:
        return int(self.exchange.functions.insurance_fund().call())

    def pending_params_at(self, market: MarketId) -> int:
        return int(self.markets.functions.pending_at(market).call())

    def params_grace(self) -> int:
        return int(self.markets.functions.PARAMS_GRACE().call())

    # -- writes ---------------------------------------------------------------------------

    def liquidate(self, trader: Address, market: MarketId) -> Step:
        return self._transact(
            ("liquidate", trader, market), self.exchange.functions.liquidate(trader, market)
        )

    def liquidation_in_flight(self, trader: Address, market: MarketId) -> bool:
        return self.sender.in_flight(("liquidate", trader, market))

    def submit_liquidation(self, trader: Address, market: MarketId) -> bytes:
        """Send a liquidation step without waiting (steps of several accounts then share a
        block); :meth:`wait_liquidation` collects it."""
        return bytes(
            self.sender.submit(
                ("liquidate", trader, market), self.exchange.functions.liquidate(trader, market)
            )
        )

    def wait_liquidation(self, trader: Address, market: MarketId, tx_hash: bytes) -> Step:
        receipt = self.sender.wait(("liquidate", trader, market), HexBytes(tx_hash))
        return Step(int(receipt["blockNumber"]), tx_hash)

    def deleverage(self, trader: Address, market: MarketId, counterparty: Address) -> Step:
        call = self.exchange.functions.deleverage(trader, market, counterparty)
        return self._transact(("deleverage", trader, market), call)

    def funding_in_flight(self, market: MarketId) -> bool:
        return self.sender.in_flight(("funding", market))

    def post_funding(self, market: MarketId, rate: FundingRate) -> Step:
        return self._transact(
            ("funding", market), self.markets.functions.post_funding(market, rate)
        )

    def apply_params(self, market: MarketId) -> Step:
        return self._transact(("params", market), self.markets.functions.apply_params(market))

    def set_answer(self, market: MarketId, answer: int) -> Step:
        return self._transact(("oracle", market), self.oracles[market].functions.set_answer(answer))

    def record_price(self, market: MarketId) -> None:
        """Sent without waiting: the last good price is bookkeeping, nothing waits on it."""
        key = ("record", market)
        if not self.sender.in_flight(key):
            self.sender.submit(key, self.markets.functions.record_price(market))

    def _transact(self, key: tuple[object, ...], call: ContractFunction) -> Step:
        receipt = self.sender.transact(key, call)
        return Step(int(receipt["blockNumber"]), bytes(receipt["transactionHash"]))
