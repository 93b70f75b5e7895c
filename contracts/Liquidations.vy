# pragma version ~=0.4.3
# pragma evm-version cancun
"""
@title perpdex Liquidations: tiered liquidation, insurance fund draws, deleveraging
@custom:contract-name Liquidations
@license MIT
@notice The Exchange's risk-enforcement entry points. They run only on the
        Exchange's storage: the Exchange forwards `liquidate` and `deleverage` here
        with `DELEGATECALL` (its code would not fit in one contract under EIP-170),
        and both contracts keep all their storage in the `ledger` module, so they
        lay it out identically. Called directly, on this contract's own empty
        storage, every entry point refuses.
"""

from .interfaces import IMarkets
from . import ledger
from . import margin
from . import packing
from . import params
from . import units

initializes: ledger


# @dev This contract's own address: under `DELEGATECALL`, `self` is the Exchange.
_DEPLOYED_AT: immutable(address)


@deploy
def __init__(markets: address):
    """
    @param markets The Markets registry, the same as the Exchange's.
    """
    ledger.__init__(markets)
    _DEPLOYED_AT = self


@external
def liquidate(trader: address, market: uint256) -> uint256:
    """
    @dev One tiered liquidation step of `trader`'s position in `market`, allowed
         while its margin scope (the cross account, or the isolated position alone)
         is below maintenance margin at a fresh price. The step closes the market's
         configured fraction of the position, rounded up to the lot; the whole
         position only when it is tiny (under the market's minimum partial
         notional, or a step would leave less than a lot) or when partial steps
         cannot restore the account (its equity does not exceed the penalty on the
         whole position: each step would then lower its margin ratio). The closed
         part moves to the caller (the liquidator) at the index price less the
         liquidator's share of a penalty on its notional (capped at the scope's
         equity); the insurance fund gets the rest of the penalty, the trader keeps
         everything else. A scope left without positions and below zero
         is made whole by the insurance fund; if the fund cannot, the step reverts
         and the position must be deleveraged (`deleverage`). The liquidator takes
         the part into their cross account and must meet initial margin after.
    @param trader The account to liquidate.
    @param market The market of the position to reduce.
    @return uint256 The size closed, size units.
    """
    assert self != _DEPLOYED_AT, "liquidations: only through the Exchange"
    assert trader != msg.sender, "exchange: self-liquidation"
    risk: IMarkets.Risk = ledger._risk(market)
    assert risk.fresh, "exchange: stale price"
    key: uint256 = ledger._position_key(trader, market)
    word: uint256 = ledger._positions[key]
    size: int256 = packing._position_size(word)
    assert size != 0, "exchange: no position"
    health: ledger.Health = self._scope_health(trader, market, word)
    assert health.equity < convert(health.maintenance, int256), "exchange: account above maintenance"

    terms: IMarkets.Liquidation = staticcall ledger.MARKETS.liquidation(market)
    amount: uint256 = convert(abs(size), uint256)
    lot: uint256 = (risk.params >> params.LOT_OFFSET) & ledger._MASK_64
    step: uint256 = margin._div_ceil(amount * terms.fraction_ppm, units.FRACTION_SCALE * lot) * lot
    whole: uint256 = margin._notional(amount, risk.price)
    if step + lot > amount or whole < terms.min_partial_notional or health.equity <= convert(margin._fee(whole, terms.penalty_ppm), int256):
        step = amount

    delta: int256 = 0
    cash: int256 = 0
    delta, cash = self._close(size, step, risk.price)
    # the penalty never exceeds what the scope still owns: it must not turn a loss the
    # price caused into bad debt the insurance fund pays to itself and the liquidator
    penalty: uint256 = min(margin._fee(convert(abs(cash), uint256), terms.penalty_ppm), convert(max(health.equity, 0), uint256))
    # rounded down: the insurance fund keeps the odd unit
    reward: uint256 = penalty * terms.liquidator_share_ppm // units.FRACTION_SCALE
    ledger.insurance_fund += penalty - reward
    self._cover(trader, market, self._move_position(trader, market, delta, cash - convert(penalty, int256), risk.funding_index))

    assert not packing._is_isolated(ledger._positions[ledger._position_key(msg.sender, market)]), "exchange: liquidator position is isolated"
    # a liquidator left flat and below zero would have its deficit zeroed: refused, as
    # any liquidator that ends below initial margin
    assert self._move_position(msg.sender, market, -delta, convert(reward, int256) - cash, risk.funding_index) == 0, "exchange: liquidator margin too low"
    after: ledger.Health = ledger._cross_health(msg.sender, 0)
    assert after.equity >= convert(after.initial, int256), "exchange: liquidator margin too low"
    log ledger.Liquidated(
        trader=trader,
        liquidator=msg.sender,
        market=market,
        size=delta,
        price=risk.price,
        penalty=penalty,
        reward=reward,
        full=step == amount,
    )
    return step


@external
def deleverage(trader: address, market: uint256, counterparty: address) -> uint256:
    """
    @dev Auto-deleveraging, for a bankrupt scope (equity below zero at a fresh price)
         whose deficit the insurance fund cannot cover: `trader`'s position in
         `market` is closed against `counterparty`'s opposite position, as much as
         both hold, at the index price moved against the counterparty by the
         trader's deficit pro rata (the bankruptcy price). The counterparty loses at
         most its position's profit; the keeper picks counterparties by profit,
         most profitable first. Anyone may call it.
    @return uint256 The size closed, size units.
    """
    assert self != _DEPLOYED_AT, "liquidations: only through the Exchange"
    risk: IMarkets.Risk = ledger._risk(market)
    assert risk.fresh, "exchange: stale price"
    word: uint256 = ledger._positions[ledger._position_key(trader, market)]
    size: int256 = packing._position_size(word)
    assert size != 0, "exchange: no position"
    health: ledger.Health = self._scope_health(trader, market, word)
    assert health.equity < 0 and convert(ledger.insurance_fund, int256) < -health.equity, "exchange: not bankrupt beyond the fund"
    other: uint256 = ledger._positions[ledger._position_key(counterparty, market)]
    other_size: int256 = packing._position_size(other)
    assert (size > 0) != (other_size > 0) and other_size != 0, "exchange: counterparty not opposite"

    amount: uint256 = min(convert(abs(size), uint256), convert(abs(other_size), uint256))
    # the trader's share of the deficit for `amount`, rounded up: it ends at zero
    loss: uint256 = margin._div_ceil(convert(-health.equity, uint256) * amount, convert(abs(size), uint256))
    value: int256 = ledger._add_position(empty(ledger.Health), other, market, False).equity
    assert value >= convert(loss, int256), "exchange: counterparty profit too small"
    delta: int256 = 0
    cash: int256 = 0
    delta, cash = self._close(size, amount, risk.price)
    cash += convert(loss, int256)
    self._cover(trader, market, self._move_position(trader, market, delta, cash, risk.funding_index))
    self._cover(counterparty, market, self._move_position(counterparty, market, -delta, -cash, risk.funding_index))
    log ledger.Deleveraged(trader=trader, counterparty=counterparty, market=market, size=delta, price=risk.price, loss=loss)
    return amount


@internal
@pure
def _close(size: int256, amount: uint256, price: uint256) -> (int256, int256):
    """
    @dev The size change and cash of closing `amount` of a position of `size` at
         `price`, the cash rounded against the position's holder.
    """
    if size > 0:
        return (-convert(amount, int256), convert(amount * price // units.SIZE_SCALE, int256))
    return (convert(amount, int256), -convert(margin._div_ceil(amount * price, units.SIZE_SCALE), int256))


@internal
@view
def _scope_health(trader: address, market: uint256, word: uint256) -> ledger.Health:
    """
    @dev The health a liquidation of the position `word` looks at: the isolated
         position alone, or the whole cross account.
    """
    if packing._is_isolated(word):
        return ledger._isolated_health(word, ledger._isolated_margin[ledger._position_key(trader, market)], market)
    return ledger._cross_health(trader, ledger._WITH_MAINTENANCE)


@internal
def _move_position(trader: address, market: uint256, delta: int256, cash: int256, index: int256) -> uint256:
    """
    @dev Changes `trader`'s position in `market` by `delta` with `cash` to its quote
         leg, after settling its funding at `index`. An isolated position may only
         shrink here. A position that becomes flat is realised: into cross
         collateral, or, when isolated, its margin too. Returns the deficit this left
         (an isolated position realised below zero, or a cross account below zero
         with no position left), which is zeroed and must be covered by the caller.
    """
    key: uint256 = ledger._position_key(trader, market)
    word: uint256 = ledger._positions[key]
    size: int256 = 0
    quote: int256 = 0
    isolated: bool = False
    size, quote, isolated = packing._unpack_position(word)
    if size != 0:
        quote += ledger._settle_funding(trader, market, word, index)
    new_size: int256 = size + delta
    quote += cash
    account: packing.Account = packing._unpack_account(ledger._accounts[trader])
    deficit: uint256 = 0
    if isolated:
        assert ledger._reduced(size, new_size), "exchange: isolated position would grow"
        if new_size == 0:
            quote += convert(ledger._isolated_margin[key], int256)
            ledger._isolated_margin[key] = 0
            if quote < 0:
                deficit = convert(-quote, uint256)
            else:
                account.collateral += quote
            log ledger.IsolatedMarginMoved(trader=trader, market=market, amount=-quote)
            quote = 0
    elif size == 0 or new_size == 0:
        if new_size == 0:
            account.collateral += quote
            quote = 0
        account.cross_markets ^= 1 << market
        if account.cross_markets == 0 and account.collateral < 0:
            deficit = convert(-account.collateral, uint256)
            account.collateral = 0
    ledger._positions[key] = packing._pack_position(new_size, quote, isolated, packing._pack_funding_snapshot(index))
    ledger._accounts[trader] = packing._pack_account(account)
    return deficit


@internal
def _cover(trader: address, market: uint256, deficit: uint256):
    """
    @dev Pays a realised deficit of `trader` from the insurance fund, which must hold
         it all (otherwise the loss goes to `deleverage`).
    """
    if deficit == 0:
        return
    assert ledger.insurance_fund >= deficit, "exchange: insurance fund short, deleverage"
    ledger.insurance_fund -= deficit
    log ledger.InsuranceDrawn(trader=trader, market=market, amount=deficit)
