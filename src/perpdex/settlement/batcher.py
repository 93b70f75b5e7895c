"""The settlement batcher: engine fills in, ``settle`` transactions out, one outcome per fill.

    batcher = Batcher(web3, exchange, operator)
    report = batcher.settle(matches)          # blocks until every batch is mined
    report.outcomes                           # Settled | Rejected, one per fill, in order

Rules (docs/settlement.md):

* Batches are sized by gas (``plan_batches`` on ``eth_estimateGas``) below ``gas_cap``.
* Before a batch is sent it is simulated (``eth_estimateGas``, which runs it). A
  ``MarginCheckFailed(account)`` revert drops that account's fills from the batch
  (``Rejected``, MARGIN_CHECK_FAILED) and the rest is simulated again. Any other revert
  (a plain one, an unknown custom error, a panic) is pinned on one fill by bisection: the
  shortest prefix of the batch whose ``eth_call`` reverts ends with the culprit, which is
  dropped (REVERTS_BATCH, with the error as cause) before the rest is simulated again.
  Planning handles reverting estimates the same way. Every drop is logged once.
* A batch that passed its simulation but reverted when mined (the chain moved) is
  simulated and sent again, up to ``MAX_REVERTS`` times; then, or at once if it ran out of
  gas, it is settled as two halves, so only a fill that reverts alone is given up
  (REVERTED).
* A fill the contract skips (``FillRejected``) is ``Rejected`` with the contract's reason
  and never retried. A skip as ORDER_CLOSED or OVERFILL whose two orders already have a
  ``Filled`` event on chain is the replay of a settled fill: ``Settled(earlier=True)``.
  ``settled_before`` finds such fills before they are sent (a restarted runner uses it).
* Each batch gets one operator nonce, the node's pending count read as it is sent (one
  call): batchers that take turns with the operator key (one per engine shard in cluster
  mode) never reuse one. A transaction not mined within
  ``receipt_timeout`` is replaced under the same nonce with higher fees, so at most one of
  its versions can ever be mined and no fill settles twice; whichever is mined is used.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from typing import cast

from eth_abi.abi import decode as abi_decode
from eth_account.signers.local import LocalAccount
from eth_account.types import TransactionDictType
from eth_utils.address import to_checksum_address
from hexbytes import HexBytes
from web3 import Web3
from web3.contract import Contract
from web3.contract.contract import ContractFunction
from web3.exceptions import ContractLogicError, TransactionNotFound, Web3RPCError
from web3.logs import DISCARD
from web3.types import EventData, Nonce, TxParams, TxReceipt, Wei

from perpdex.core.types import Address, OrderHash
from perpdex.settlement.encoding import Batch, BatchLimits, Match
from perpdex.settlement.outcomes import (
    FillKey,
    FillOutcome,
    Rejected,
    RejectReason,
    Settled,
    SettlementReport,
    SettleTransaction,
    TxHash,
    contract_reject_codes,
    fill_key,
)
from perpdex.settlement.sizing import TRANSACTION_GAS_CAP, FillOverGasError, plan_batches

log = logging.getLogger(__name__)

MARGIN_CHECK_FAILED = bytes(Web3.keccak(text="MarginCheckFailed(address)")[:4])
"""Selector of the contract's custom error."""

RECEIPT_TIMEOUT_SECONDS = 30.0
MAX_ATTEMPTS = 4
"""Signed versions of one batch's transaction (the first and its replacements)."""

MAX_REVERTS = 3
"""Times a batch whose simulation passed may revert when mined (the chain moved between
the two) before it is split in halves (a single fill: given up as REVERTED)."""

FEE_BUMP_PPM = 125_000
"""+12.5% per replacement: nodes replace a pending transaction only for at least +10%."""

GAS_LIMIT_MARGIN_PPM = 100_000
"""Gas limit = estimate + 10%: the estimate is exact only for the state it ran against."""

# a replay refused for one of these may be a fill that already settled
_REPLAY_REASONS = frozenset({RejectReason.ORDER_CLOSED, RejectReason.OVERFILL})
_POLL_SECONDS = 0.05

BLOCKS_PER_QUERY = 2_000
"""Blocks per ``eth_getLogs`` request when looking for settled fills (the range nodes
commonly allow)."""


class MarginCheckFailedError(Exception):
    """A simulated ``settle`` of ``batch`` reverted with ``MarginCheckFailed(account)``."""

    def __init__(self, account: Address, batch: Batch) -> None:
        super().__init__(f"margin check failed for {account}")
        self.account = account
        self.batch = batch


class BatchRevertError(Exception):
    """A simulated ``settle`` of ``batch`` reverted with an error other than
    ``MarginCheckFailed``; ``cause`` describes it."""

    def __init__(self, cause: str, batch: Batch) -> None:
        super().__init__(cause)
        self.cause = cause
        self.batch = batch


class SubmissionError(RuntimeError):
    """No version of a batch's transaction was mined in time. Its fills have no outcome:
    one version may still be mined, so settle them again later (a replay is recognised)."""


class Batcher:
    """Settles matches with the operator key of ``exchange``; see the module's rules."""

    def __init__(
        self,
        web3: Web3,
        exchange: Contract,
        operator: LocalAccount,
        *,
        gas_cap: int = TRANSACTION_GAS_CAP,
        receipt_timeout: float = RECEIPT_TIMEOUT_SECONDS,
        from_block: int = 0,
    ) -> None:
        """``from_block``: where to look for ``Filled`` events of earlier runs (the
        deployment's ``start_block``)."""
        self._web3 = web3
        self._exchange = exchange
        self._operator = operator
        self._gas_cap = gas_cap
        self._receipt_timeout = receipt_timeout
        self._from_block = from_block
        self._limits = batch_limits(exchange)
        self._reasons = contract_reject_codes(exchange)

    def settle(self, matches: Sequence[Match]) -> SettlementReport:
        """Settle ``matches`` in match order; returns once every batch is mined. A match
        given twice is settled (and reported) once. Raises SubmissionError (see there)."""
        unique: dict[FillKey, Match] = {}
        for match in matches:
            unique.setdefault(fill_key(match), match)
        outcomes: dict[FillKey, FillOutcome] = {}
        transactions: list[SettleTransaction] = []
        for batch in self._plan(list(unique.values()), outcomes):
            self._settle_batch(batch, outcomes, transactions)
        return SettlementReport(tuple(outcomes[key] for key in unique), tuple(transactions))

    # ------------------------------------------------------------------ planning

    def _plan(self, matches: list[Match], outcomes: dict[FillKey, FillOutcome]) -> list[Batch]:
        # each pass drops at least one fill, so this ends
        while True:
            try:
                return plan_batches(
                    matches,
                    limits=self._limits,
                    estimate_gas=self._estimate,
                    gas_cap=self._gas_cap,
                )
            except (MarginCheckFailedError, BatchRevertError) as failure:
                self._drop(failure, outcomes)
            except FillOverGasError as failure:
                self._reject(
                    Rejected(failure.match, RejectReason.OVER_GAS_CAP, cause=str(failure)),
                    outcomes,
                )
            matches = [m for m in matches if fill_key(m) not in outcomes]

    def _estimate(self, batch: Batch) -> int:
        """``eth_estimateGas`` of ``batch``."""
        return self._dry_run(batch, estimate=True)

    def _simulate(self, batch: Batch) -> None:
        """``eth_call`` of ``batch``: raises what sending it now would revert with."""
        self._dry_run(batch, estimate=False)

    def _dry_run(self, batch: Batch, *, estimate: bool) -> int:
        call = self._settle_call(batch)
        sender: TxParams = {"from": self._operator.address}
        try:
            if estimate:
                return int(call.estimate_gas(sender))
            call.call(sender)
            return 0
        except ContractLogicError as error:  # a revert; an RPC failure is not caught here
            account = margin_failure_account(error.data)
            if account is None:
                raise BatchRevertError(_revert_cause(error), batch) from error
            raise MarginCheckFailedError(account, batch) from error

    def _drop(
        self,
        failure: MarginCheckFailedError | BatchRevertError,
        outcomes: dict[FillKey, FillOutcome],
    ) -> None:
        """Rejects the fills of ``failure.batch`` that made its simulation revert: those of
        the account a margin check names, else the culprit that bisection finds."""
        if isinstance(failure, MarginCheckFailedError):
            account = failure.account
            traded = [
                m
                for m in failure.batch.matches
                if account in (m.maker.order.trader, m.taker.order.trader)
            ]
            for match in traded:
                cause = f"MarginCheckFailed({account})"
                reason = RejectReason.MARGIN_CHECK_FAILED
                self._reject(Rejected(match, reason, account=account, cause=cause), outcomes)
            if traded:
                return
            # an account outside the batch cannot fail its check: find the fill to blame
            failure = BatchRevertError(str(failure), failure.batch)
        match, cause = self._culprit(failure)
        self._reject(Rejected(match, RejectReason.REVERTS_BATCH, cause=cause), outcomes)

    def _culprit(self, failure: BatchRevertError) -> tuple[Match, str]:
        """The fill that makes ``failure.batch`` revert, and the error: the last fill of the
        shortest reverting prefix (a fill's revert reverts every longer prefix too), found
        by bisection in log2(fills) ``eth_call``s."""
        matches = failure.batch.matches
        cause = failure.cause
        passes, reverts = 0, len(matches)  # prefix lengths: the empty prefix cannot revert
        while reverts - passes > 1:
            middle = (passes + reverts) // 2
            try:
                self._simulate(Batch.of(matches[:middle], self._limits))
            except BatchRevertError as revert:
                reverts, cause = middle, revert.cause
                continue
            except MarginCheckFailedError:
                pass  # every fill of the prefix ran: the revert comes later
            passes = middle
        return matches[reverts - 1], cause

    def _reject(self, outcome: Rejected, outcomes: dict[FillKey, FillOutcome]) -> None:
        """Records a fill the batcher drops, and logs it (once: it is never retried)."""
        key = fill_key(outcome.match)
        outcomes[key] = outcome
        log.warning(
            "fill maker=%s taker=%s dropped: %s (%s)",
            key[0].hex(),
            key[1].hex(),
            outcome.reason,
            outcome.cause,
        )

    # ------------------------------------------------------------------ one batch

    def _settle_batch(
        self,
        batch: Batch,
        outcomes: dict[FillKey, FillOutcome],
        transactions: list[SettleTransaction],
    ) -> None:
        for _ in range(MAX_REVERTS):
            simulated = self._simulated(batch, outcomes)
            if simulated is None:
                return
            batch, estimate = simulated
            gas = self._gas_limit(batch, estimate)
            receipt, nonce, attempts = self._submit(batch, gas)
            settled = self._record(batch, receipt, outcomes) if receipt["status"] == 1 else 0
            transactions.append(
                SettleTransaction(
                    tx_hash=_tx_hash(receipt),
                    block=receipt["blockNumber"],
                    nonce=nonce,
                    gas_used=receipt["gasUsed"],
                    fills=len(batch.matches),
                    settled=settled,
                    attempts=attempts,
                )
            )
            if receipt["status"] == 1:
                return
            # all the gas used: a retry of the same estimate would run out again, halve now
            out_of_gas = receipt["gasUsed"] >= gas and len(batch.matches) > 1
            log.warning(
                "settle transaction %s reverted when mined (%d fills, gas %d of %d used); %s",
                _tx_hash(receipt),
                len(batch.matches),
                receipt["gasUsed"],
                gas,
                "settling it in halves" if out_of_gas else "simulating it again",
            )
            if out_of_gas:
                break
        # its simulations pass but it keeps reverting when mined: halve it, so that only a
        # fill which does so alone is given up
        if len(batch.matches) == 1:
            cause = f"reverted when mined {MAX_REVERTS} times, alone, although simulations passed"
            self._reject(Rejected(batch.matches[0], RejectReason.REVERTED, cause=cause), outcomes)
            return
        middle = len(batch.matches) // 2
        for half in (batch.matches[:middle], batch.matches[middle:]):
            self._settle_batch(Batch.of(half, self._limits), outcomes, transactions)

    def _gas_limit(self, batch: Batch, estimate: int) -> int:
        """The gas limit to send ``batch`` with, from its ``estimate``."""
        return min(estimate + estimate * GAS_LIMIT_MARGIN_PPM // 1_000_000, self._gas_cap)

    def _simulated(
        self, batch: Batch, outcomes: dict[FillKey, FillOutcome]
    ) -> tuple[Batch, int] | None:
        """``batch`` less every fill that makes its simulation revert (see ``_drop``), and
        its gas estimate; None if nothing is left. Each pass drops at least one fill."""
        while batch.matches:
            try:
                return batch, self._estimate(batch)
            except (MarginCheckFailedError, BatchRevertError) as failure:
                self._drop(failure, outcomes)
            batch = Batch.of(
                (m for m in batch.matches if fill_key(m) not in outcomes), self._limits
            )
        return None

    def _record(
        self, batch: Batch, receipt: TxReceipt, outcomes: dict[FillKey, FillOutcome]
    ) -> int:
        """Outcomes from a mined batch's events; returns how many fills it settled."""
        tx_hash, block = _tx_hash(receipt), receipt["blockNumber"]
        by_key = {fill_key(match): match for match in batch.matches}
        filled = self._exchange.events.Filled().process_receipt(receipt, errors=DISCARD)
        for event in filled:
            key = _event_key(event)
            outcomes[key] = Settled(by_key[key], tx_hash, block)
        skipped = self._exchange.events.FillRejected().process_receipt(receipt, errors=DISCARD)
        for event in skipped:
            match = batch.matches[event["args"]["index"]]
            reason = self._reasons[event["args"]["reason"]]
            earlier = self._earlier(match) if reason in _REPLAY_REASONS else None
            outcomes[fill_key(match)] = earlier or Rejected(match, reason, tx_hash=tx_hash)
        if missing := [key for key in by_key if key not in outcomes]:
            raise RuntimeError(f"{tx_hash}: no Filled or FillRejected event for {missing}")
        return len(filled)

    def _earlier(self, match: Match) -> Settled | None:
        """The ``Filled`` event of ``match`` in an earlier transaction, if there is one."""
        trader = {"maker": match.maker.order.trader, "taker": match.taker.order.trader}
        events = self._exchange.events.Filled().get_logs(
            argument_filters=trader, from_block=self._from_block
        )
        return next((s for e in events if (s := _settled_by(e, match)) is not None), None)

    def settled_before(self, matches: Sequence[Match]) -> list[Settled]:
        """Those of ``matches`` already on chain, found by their ``Filled`` events from
        ``from_block`` on (``Settled(earlier=True)``): a restarted runner reports them
        instead of sending them again. Read ``BLOCKS_PER_QUERY`` blocks per request."""
        wanted = {fill_key(match): match for match in matches}
        found: list[Settled] = []
        head = int(self._web3.eth.block_number)
        for first in range(self._from_block, head + 1, BLOCKS_PER_QUERY):
            last = min(head, first + BLOCKS_PER_QUERY - 1)
            for event in self._exchange.events.Filled().get_logs(from_block=first, to_block=last):
                match = wanted.get(_event_key(event))
                if match is not None and (settled := _settled_by(event, match)) is not None:
                    found.append(settled)
        return found

    # ------------------------------------------------------------------ transactions

    def _submit(self, batch: Batch, gas: int) -> tuple[TxReceipt, int, int]:
        """Send ``batch`` under the next nonce, replacing it while it is not mined; returns
        the receipt, the nonce and how many versions were sent."""
        nonce = self._next_nonce()
        call = self._settle_call(batch)
        tip = self._web3.eth.max_priority_fee
        base = self._web3.eth.get_block("pending").get("baseFeePerGas", 0)
        max_fee = Wei(2 * base + tip)
        sent: list[HexBytes] = []
        for _ in range(MAX_ATTEMPTS):
            params: TxParams = {
                "from": self._operator.address,
                "nonce": Nonce(nonce),
                "gas": gas,
                "maxFeePerGas": max_fee,
                "maxPriorityFeePerGas": tip,
            }
            transaction = call.build_transaction(params)
            # web3's TxParams and eth-account's dict type describe the same transaction
            signed = self._operator.sign_transaction(cast("TransactionDictType", transaction))
            try:
                sent.append(self._web3.eth.send_raw_transaction(signed.raw_transaction))
            except Web3RPCError:
                # the nonce is used: an earlier version was mined meanwhile (awaited below)
                if not sent:
                    raise
            receipt = self._await_receipt(sent)
            if receipt is not None:
                return receipt, nonce, len(sent)
            tip = _bumped(tip)
            max_fee = _bumped(max_fee)
        hashes = ", ".join(h.to_0x_hex() for h in sent)
        raise SubmissionError(f"nonce {nonce}: none of {hashes} was mined")

    def _await_receipt(self, sent: Sequence[HexBytes]) -> TxReceipt | None:
        deadline = time.monotonic() + self._receipt_timeout
        while True:
            for tx_hash in sent:
                try:
                    return self._web3.eth.get_transaction_receipt(tx_hash)
                except TransactionNotFound:
                    continue
            if time.monotonic() >= deadline:
                return None
            time.sleep(_POLL_SECONDS)

    def _next_nonce(self) -> int:
        return self._web3.eth.get_transaction_count(self._operator.address, "pending")

    def node_answers(self) -> bool:
        """Whether the node answers a plain call now (after a failure: the node or a fill?)."""
        try:
            self._web3.eth.get_block_number()
        except Exception:  # any failure to answer counts as the node's, whatever its type
            return False
        return True

    def _settle_call(self, batch: Batch) -> ContractFunction:
        function: ContractFunction = self._exchange.functions.settle(*batch.calldata_args())
        return function


def batch_limits(exchange: Contract) -> BatchLimits:
    """The array bounds of the deployed Exchange's ``settle``."""
    return BatchLimits(
        orders=int(exchange.functions.MAX_ORDERS().call()),
        fills=int(exchange.functions.MAX_FILLS().call()),
        triggers=int(exchange.functions.MAX_TRIGGERS().call()),
    )


def margin_failure_account(revert_data: object) -> Address | None:
    """The account named by a ``MarginCheckFailed(address)`` revert, else None."""
    if not isinstance(revert_data, str):
        return None
    data = HexBytes(revert_data)
    if data[:4] != MARGIN_CHECK_FAILED or len(data) != 36:
        return None
    (account,) = abi_decode(["address"], data[4:])
    return Address(to_checksum_address(account))


def _revert_cause(error: ContractLogicError) -> str:
    """What a revert says: its message, and its data if it is not a reason string."""
    message = error.message or "execution reverted"
    data = error.data if isinstance(error.data, str) else None
    return f"{message}; data {data}" if data and data not in message else message


def _event_key(event: EventData) -> FillKey:
    args = event["args"]
    return (OrderHash(bytes(args["maker_hash"])), OrderHash(bytes(args["taker_hash"])))


def _settled_by(event: EventData, match: Match) -> Settled | None:
    """``match`` settled by the ``Filled`` event ``event``: the same two orders, price and
    size (anything less exact could report a fill settled that is not)."""
    args = event["args"]
    seen = (_event_key(event), args["price"], args["size"])
    if seen != (fill_key(match), match.price, match.size):
        return None
    tx_hash = TxHash(HexBytes(event["transactionHash"]).to_0x_hex())
    return Settled(match, tx_hash, event["blockNumber"], earlier=True)


def _tx_hash(receipt: TxReceipt) -> TxHash:
    return TxHash(receipt["transactionHash"].to_0x_hex())


def _bumped(fee: Wei) -> Wei:
    return Wei(fee + -(-fee * FEE_BUMP_PPM // 1_000_000))  # rounded up: never less than +12.5%
