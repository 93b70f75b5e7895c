"""What a wallet does on chain by itself: deposit, withdraw, cancel by nonce, read its
account. Every contract call and view the SDK uses is in this module, so a change of the
contracts' interface is adapted here only; ABIs and addresses come from the deployment file.

Synchronous (web3's HTTP provider): the async :class:`perpdex.sdk.client.Client` runs these
in a worker thread.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from web3.contract.contract import ContractFunction
from web3.exceptions import ContractCustomError, ContractLogicError, TimeExhausted
from web3.logs import DISCARD
from web3.types import EventData, TxReceipt

from perpdex.chain.deploy import ChainContracts, bind
from perpdex.chain.deployment import Deployment, ListedMarket
from perpdex.chain.transact import TransactionFailedError, connect, send
from perpdex.core.eip712 import Nonce, UnixTime
from perpdex.core.types import Address, Collateral, MarketId, Price, ShardId, Size
from perpdex.receipts import SignedReceipt
from perpdex.sdk.display import usdc
from perpdex.sdk.errors import (
    ChainRevertError,
    ChainUnavailableError,
    InsufficientFundsError,
)
from perpdex.sdk.keys import Wallet
from perpdex.sdk.markets import Markets

_REVERT_PREFIX = "execution reverted: "


@dataclass(frozen=True, slots=True)
class AccountState:
    """``Exchange.account(trader)``: the cross account."""

    collateral: Collateral
    """Signed: realised losses can exceed deposits until a liquidation."""
    nonce_floor: Nonce
    cross_markets: frozenset[MarketId]
    """Markets with an open cross position."""


@dataclass(frozen=True, slots=True)
class PositionState:
    """``Exchange.position(trader, market)``."""

    market: ListedMarket
    size: Size
    """Signed: positive long, negative short."""
    quote: Collateral
    """The quote leg: what opening cost (negative for a long) net of fees."""
    isolated: bool
    isolated_margin: Collateral


@dataclass(frozen=True, slots=True)
class Health:
    """``Exchange.cross_health(trader)`` at the oracle prices."""

    equity: Collateral
    initial: Collateral
    maintenance: Collateral


@dataclass(frozen=True, slots=True)
class WithdrawalRequest:
    amount: Collateral
    ready_at: UnixTime
    """``execute_withdrawal`` succeeds from this block timestamp on."""


class ChainReader:
    """The views of one deployment, for any trader; needs no key."""

    def __init__(self, deployment: Deployment) -> None:
        self.deployment = deployment
        self.markets = Markets(deployment.markets)
        with _translated("connecting"):
            self.web3 = connect(deployment.rpc_url)
            self._contracts: ChainContracts = bind(self.web3, deployment)

    def account(self, trader: Address) -> AccountState:
        collateral, floor, bits = self._call(self._contracts.exchange.functions.account(trader))
        markets = frozenset(MarketId(m) for m in range(bits.bit_length()) if bits >> m & 1)
        return AccountState(Collateral(collateral), Nonce(floor), markets)

    def checkpoint_operator(self) -> Address:
        """The key that posts checkpoints, and signs the gateway's receipts."""
        return Address(self._call(self._contracts.checkpoints.functions.operator()))

    def operator_faulted(self) -> bool:
        """Whether a fault of the operator is proven on-chain (nothing settles from then on)."""
        return bool(self._call(self._contracts.checkpoints.functions.faulted()))

    def checkpoint_at(self, shard: ShardId, seq: int) -> int | None:
        """The index of the posted checkpoint at ``seq`` of engine shard ``shard``'s journal
        (None: none is), read from that shard's log in pages of ``MAX_PAGE``; its seqs
        strictly increase, so the search stops past it."""
        checkpoints = self._contracts.checkpoints.functions
        page_size = self._call(checkpoints.MAX_PAGE())
        first = 1
        while page := self._call(checkpoints.checkpoints(shard, first, page_size)):
            for offset, (point_seq, _, _) in enumerate(page):
                if point_seq >= seq:
                    return first + offset if point_seq == seq else None
            first += len(page)
        return None

    def position(self, trader: Address, market: ListedMarket) -> PositionState:
        size, quote, isolated, margin = self._call(
            self._contracts.exchange.functions.position(trader, market.id)
        )
        return PositionState(market, Size(size), Collateral(quote), isolated, Collateral(margin))

    def positions(self, trader: Address) -> list[PositionState]:
        """Every open position (isolated ones are not in the account's cross bit set, so each
        listed market is read)."""
        every = (self.position(trader, market) for market in self.markets)
        return [position for position in every if position.size or position.isolated_margin]

    def cross_health(self, trader: Address) -> Health:
        equity, initial, maintenance = self._call(
            self._contracts.exchange.functions.cross_health(trader)
        )
        return Health(Collateral(equity), Collateral(initial), Collateral(maintenance))

    def isolated_health(self, trader: Address, market: ListedMarket) -> Health:
        """``Exchange.isolated_health``: the isolated position backed by its margin alone."""
        equity, initial, maintenance = self._call(
            self._contracts.exchange.functions.isolated_health(trader, market.id)
        )
        return Health(Collateral(equity), Collateral(initial), Collateral(maintenance))

    def mark_price(self, market: ListedMarket) -> Price:
        """The price the Exchange values positions at (``Markets.price``): the oracle's, or
        the last good one while the feed is stale."""
        price, _fresh = self._call(self._contracts.markets.functions.price(market.id))
        return Price(price)

    def mark_and_freshness(self, market: ListedMarket) -> tuple[Price, bool]:
        """``Markets.price``: the mark price and whether it is the oracle's (fresh) or the
        last good one (stale)."""
        price, fresh = self._call(self._contracts.markets.functions.price(market.id))
        return Price(price), bool(fresh)

    def oracle_price(self, market: ListedMarket) -> tuple[Price, UnixTime]:
        """The oracle's latest answer in price units, rounded down as ``Markets`` reads it
        (the index price), and when the oracle updated it."""
        info = self._call(self._contracts.markets.functions.market_info(market.id))
        oracle = self._contracts.oracles[market.symbol]
        _, answer, _, updated_at, _ = self._call(oracle.functions.latestRoundData())
        return Price(answer // info[2]), UnixTime(updated_at)

    def funding_settled(
        self, trader: Address, market: ListedMarket | None, first: int, last: int
    ) -> list[EventData]:
        """The ``FundingSettled`` logs of ``trader`` (in ``market``) in blocks
        ``first..last``, in chain order."""
        filters: dict[str, Any] = {"trader": trader}
        if market is not None:
            filters["market"] = market.id
        event = self._contracts.exchange.events.FundingSettled()
        with _translated("reading FundingSettled logs"):
            return list(event.get_logs(argument_filters=filters, from_block=first, to_block=last))

    def head(self) -> int:
        with _translated("reading the block number"):
            return int(self.web3.eth.block_number)

    def timestamp(self, block: int) -> UnixTime:
        with _translated(f"reading block {block}"):
            return UnixTime(int(self.web3.eth.get_block(block)["timestamp"]))

    def wallet_balance(self, trader: Address) -> Collateral:
        """Collateral tokens held by ``trader`` outside the Exchange."""
        return Collateral(self._call(self._contracts.collateral.functions.balanceOf(trader)))

    def block_time(self) -> UnixTime:
        with _translated("reading the latest block"):
            return UnixTime(int(self.web3.eth.get_block("latest")["timestamp"]))

    def _call(self, function: ContractFunction) -> Any:
        with _translated(function.fn_name):
            return function.call()


class ChainClient(ChainReader):
    """One wallet's transactions on one deployment."""

    def __init__(self, deployment: Deployment, wallet: Wallet) -> None:
        super().__init__(deployment)
        self.wallet = wallet

    @property
    def address(self) -> Address:
        return self.wallet.address

    # ------------------------------------------------------------------ custody

    def faucet(self, amount: Collateral) -> TxReceipt:
        """Mint ``amount`` of the mock collateral to this wallet (local chains only)."""
        return self._send(
            "faucet", self._contracts.collateral.functions.faucet(self.address, amount)
        )

    def deposit(self, amount: Collateral) -> TxReceipt:
        """Approve the Exchange for what is missing of ``amount``, then deposit it."""
        held = self.wallet_balance(self.address)
        if held < amount:
            raise InsufficientFundsError(
                f"the wallet holds {usdc(held)}, cannot deposit {usdc(amount)}"
            )
        token = self._contracts.collateral.functions
        exchange = self._contracts.exchange.address
        if self._call(token.allowance(self.address, exchange)) < amount:
            self._send("approve", token.approve(exchange, amount))
        return self._send("deposit", self._contracts.exchange.functions.deposit(amount))

    def request_withdrawal(self, amount: Collateral) -> WithdrawalRequest:
        """Ask to withdraw ``amount`` after the Exchange's withdrawal delay (replaces a pending
        request)."""
        exchange = self._contracts.exchange
        receipt = self._send("request_withdrawal", exchange.functions.request_withdrawal(amount))
        (event,) = exchange.events.WithdrawalRequested().process_receipt(receipt, errors=DISCARD)
        return WithdrawalRequest(Collateral(amount), UnixTime(event["args"]["ready_at"]))

    def execute_withdrawal(self) -> Collateral:
        """Receive the pending request's amount once ready; returns the amount."""
        exchange = self._contracts.exchange
        receipt = self._send("execute_withdrawal", exchange.functions.execute_withdrawal())
        (event,) = exchange.events.Withdrawn().process_receipt(receipt, errors=DISCARD)
        return Collateral(event["args"]["amount"])

    def cancel_withdrawal(self) -> TxReceipt:
        return self._send(
            "cancel_withdrawal", self._contracts.exchange.functions.cancel_withdrawal()
        )

    # ------------------------------------------------------------------ isolated margin

    def add_isolated_margin(self, market: ListedMarket, amount: Collateral) -> TxReceipt:
        """Move ``amount`` of cross collateral into the open isolated position in ``market``."""
        exchange = self._contracts.exchange.functions
        return self._send("add_isolated_margin", exchange.add_isolated_margin(market.id, amount))

    def remove_isolated_margin(self, market: ListedMarket, amount: Collateral) -> TxReceipt:
        """Move ``amount`` out of the isolated position in ``market`` back to cross."""
        exchange = self._contracts.exchange.functions
        return self._send(
            "remove_isolated_margin", exchange.remove_isolated_margin(market.id, amount)
        )

    # ------------------------------------------------------------------ cancellation

    def cancel_orders(self, nonces: Sequence[Nonce]) -> TxReceipt:
        """Close these nonces on chain: their orders can never fill, whatever the operator does."""
        return self._send("cancel_orders", self._contracts.exchange.functions.cancel_orders(nonces))

    def raise_nonce_floor(self, floor: Nonce) -> TxReceipt:
        """Close every nonce below ``floor`` at once (the on-chain cancel-all)."""
        return self._send(
            "raise_nonce_floor", self._contracts.exchange.functions.raise_nonce_floor(floor)
        )

    # ------------------------------------------------------------------ the operator's faults

    def prove_equivocation(self, first: SignedReceipt, second: SignedReceipt) -> bool:
        """Put the operator's fault on record from two receipts it signed for one shard and
        seq with different heads; True if this call recorded it (False: a fault already was)."""
        checkpoints = self._contracts.checkpoints
        call = checkpoints.functions.prove_equivocation(first.contract_arg(), second.contract_arg())
        return self._proved(self._send("prove_equivocation", call))

    def prove_contradiction(self, receipt: SignedReceipt) -> bool:
        """Put the operator's fault on record from a receipt it signed that differs from the
        checkpoint it posted at the receipt's shard and seq; True if this call recorded it."""
        shard, seq = receipt.receipt.shard, receipt.receipt.seq
        index = self.checkpoint_at(shard, seq)
        if index is None:
            raise ChainRevertError(
                "prove_contradiction", f"no checkpoint of shard {shard} is at seq {seq}"
            )
        call = self._contracts.checkpoints.functions.prove_contradiction(
            receipt.contract_arg(), index
        )
        return self._proved(self._send("prove_contradiction", call))

    def _proved(self, receipt: TxReceipt) -> bool:
        events = self._contracts.checkpoints.events.FaultProven()
        return bool(events.process_receipt(receipt, errors=DISCARD))

    # ------------------------------------------------------------------ plumbing

    def _send(self, action: str, function: ContractFunction) -> TxReceipt:
        with _translated(action):
            return send(self.web3, self.wallet.account, function)


@contextmanager
def _translated(action: str) -> Iterator[None]:
    """web3's exceptions as the SDK's one-line errors (requests' connection errors and the
    builtin ``ConnectionError`` are both ``OSError``)."""
    try:
        yield
    except ContractCustomError as error:
        raise ChainRevertError(action, f"custom error {error.message}") from None
    except ContractLogicError as error:
        reason = str(error.message or error).removeprefix(_REVERT_PREFIX)
        raise ChainRevertError(action, reason) from None
    except TransactionFailedError as error:
        raise ChainRevertError(action, str(error)) from None
    except (OSError, TimeExhausted) as error:
        raise ChainUnavailableError(f"{action}: the chain node does not answer ({error})") from None
