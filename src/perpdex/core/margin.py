"""Reference model of the contract's margin arithmetic, bit for bit.

The position manager answers pre-trade checks and health scans with these functions, so
they must agree with the contract to the last collateral unit. Each function evaluates the
expression of its counterpart (``contracts/margin.vy``, the risk half of
``contracts/Exchange.vy``, the word layout of ``contracts/packing.vy``) with the same
rounding, named by the :mod:`perpdex.core.rounding` helper it uses, and raises an
``ArithmeticError`` (:class:`OutOfRangeError` or ``ZeroDivisionError``) exactly where the
EVM's checked arithmetic or a clamping ``convert`` reverts. Scales and field widths are
read from the contracts, never retyped. ``tests/unitary/margin`` feeds the model and the
compiled contract the same inputs and demands equal integers.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from typing import NewType

from perpdex.core.eip712 import FeePpm
from perpdex.core.rounding import div_ceil, div_floor
from perpdex.core.types import Collateral, MarginMode, MarketId, Price, Side, Size
from perpdex.core.units import contracts_dir, units, vyper_constants

MarginPpm = NewType("MarginPpm", int)
"""A margin fraction in parts per million of notional (``FRACTION_SCALE``)."""

FundingIndex = NewType("FundingIndex", int)
"""A market's cumulative funding index (collateral units per whole base unit), or the value
of it a position last settled funding at (its snapshot)."""

PACKING_SOURCE = "packing.vy"

_EVM_WORD_BITS = 256


class OutOfRangeError(ArithmeticError):
    """A value leaves the range of its EVM type: the contract reverts there."""


# ---------------------------------------------------------------- EVM ranges


def _signed(value: int, bits: int = _EVM_WORD_BITS) -> int:
    bound = 1 << (bits - 1)
    if not -bound <= value < bound:
        raise OutOfRangeError(f"{value} does not fit int{bits}")
    return value


def _unsigned(value: int, bits: int = _EVM_WORD_BITS) -> int:
    if not 0 <= value < 1 << bits:
        raise OutOfRangeError(f"{value} does not fit uint{bits}")
    return value


# ---------------------------------------------------------------- margin.vy


def div_floor_checked(numerator: int, denominator: int) -> int:
    """``margin._div_floor``: signed division toward minus infinity (``MIN // -1`` reverts)."""
    return _signed(div_floor(numerator, denominator))


def div_ceil_checked(numerator: int, denominator: int) -> int:
    """``margin._div_ceil``: ``numerator + denominator - 1``, evaluated left to right, must
    stay in uint256 at each step."""
    _unsigned(_unsigned(numerator + denominator) - 1)
    return div_ceil(numerator, denominator)


def notional(size: Size, price: Price) -> Collateral:
    """``margin._notional``: exact on the tick/lot grid, rounded up (a requirement) off it."""
    return Collateral(div_ceil_checked(_unsigned(size * price), units().size_scale))


def value(size: Size, quote: Collateral, price: Price) -> Collateral:
    """``margin._value``: cash leg plus size marked to ``price``, rounded down (a credit)."""
    marked = _signed(size * _signed(price))
    return Collateral(_signed(quote + div_floor_checked(marked, units().size_scale)))


def requirement(size: Size, price: Price, fraction_ppm: MarginPpm) -> Collateral:
    """``margin._requirement``: margin of ``size`` at ``price``, rounded up (a debit)."""
    scale = units()
    exposure = _unsigned(_unsigned(_signed(abs(size)) * price) * fraction_ppm)
    return Collateral(div_ceil_checked(exposure, scale.size_scale * scale.fraction_scale))


def fee(notional: Collateral, fee_ppm: FeePpm) -> Collateral:
    """``margin._fee``: rounded up (a debit)."""
    return Collateral(div_ceil_checked(_unsigned(notional * fee_ppm), units().fraction_scale))


# ---------------------------------------------------------------- packing.vy


@dataclass(frozen=True, slots=True)
class _Field:
    """One field of a packed storage word."""

    shift: int
    bits: int
    signed: bool

    def check(self, value: int) -> int:
        """``value`` if it fits the field; OutOfRangeError where the clamping ``convert``
        of the packing function reverts."""
        return _signed(value, self.bits) if self.signed else _unsigned(value, self.bits)

    def put(self, value: int) -> int:
        return (self.check(value) & ((1 << self.bits) - 1)) << self.shift

    def get(self, word: int) -> int:
        raw = (word >> self.shift) & ((1 << self.bits) - 1)
        if self.signed and raw >> (self.bits - 1):
            return raw - (1 << self.bits)
        return raw


@dataclass(frozen=True, slots=True)
class _Layout:
    size: _Field
    quote: _Field
    funding: _Field
    isolated_flag: int
    collateral: _Field
    flags: _Field
    nonce_floor: _Field
    cross_markets: _Field


@cache
def _layout() -> _Layout:
    """The word layouts, from the masks of packing.vy: fields sit contiguously from bit 0
    in the order its docstring lists them (the harness tests pin this against the code)."""
    constants = vyper_constants(contracts_dir() / PACKING_SOURCE)
    bits_8, bits_64, bits_88, bits_96, bits_120 = (
        constants[f"_MASK_{bits}"].bit_length() for bits in (8, 64, 88, 96, 120)
    )
    return _Layout(
        size=_Field(0, bits_64, signed=True),
        quote=_Field(bits_64, bits_96, signed=True),
        funding=_Field(constants["_FUNDING_OFFSET"], bits_88, signed=True),
        isolated_flag=constants["_ISOLATED_FLAG"],
        collateral=_Field(0, bits_120, signed=True),
        flags=_Field(bits_120, bits_8, signed=False),
        nonce_floor=_Field(bits_120 + bits_8, bits_64, signed=False),
        cross_markets=_Field(bits_120 + bits_8 + bits_64, bits_64, signed=False),
    )


def pack_account(collateral: Collateral, flags: int, nonce_floor: int, cross_markets: int) -> int:
    """``packing._pack_account`` of an ``Account(collateral, flags, nonce_floor, ...)``."""
    layout = _layout()
    return (
        layout.collateral.put(collateral)
        | layout.flags.put(flags)
        | layout.nonce_floor.put(nonce_floor)
        | layout.cross_markets.put(cross_markets)
    )


def unpack_account(word: int) -> tuple[Collateral, int, int, int]:
    """``packing._unpack_account``: (collateral, flags, nonce floor, cross market bit set)."""
    layout = _layout()
    _unsigned(word)
    return (
        Collateral(layout.collateral.get(word)),
        layout.flags.get(word),
        layout.nonce_floor.get(word),
        layout.cross_markets.get(word),
    )


def pack_position(size: Size, quote: Collateral, isolated: bool, funding: int = 0) -> int:
    """``packing._pack_position``: a realised flat position packs to zero, flag included; a
    flat position keeps no funding snapshot."""
    layout = _layout()
    # the snapshot is packed (and range-checked) before the contract knows the size
    field = layout.funding.put(funding)
    word = layout.size.put(size) | layout.quote.put(quote)
    if size:
        word |= field
    return word | layout.isolated_flag if isolated and word else word


def funding_snapshot(word: int) -> int:
    """``packing._funding_snapshot``: the funding index a position word settled up to."""
    return _layout().funding.get(_unsigned(word))


def funding_payment(size: Size, index_change: int) -> Collateral:
    """``margin._funding_payment``: what a position receives (> 0) or pays (< 0) when the
    funding index moves by ``index_change``; payments round up, receipts down."""
    return Collateral(div_floor_checked(-size * index_change, units().size_scale))


def unpack_position(word: int) -> tuple[Size, Collateral, bool]:
    """``packing._unpack_position``: (size, quote, isolated)."""
    layout = _layout()
    _unsigned(word)
    return (
        Size(layout.size.get(word)),
        Collateral(layout.quote.get(word)),
        word & layout.isolated_flag != 0,
    )


# ---------------------------------------------------------------- Exchange.vy


@dataclass(frozen=True, slots=True)
class Health:
    """Equity and margin requirements of a cross account or an isolated position."""

    equity: Collateral
    initial: Collateral
    maintenance: Collateral

    @property
    def meets_initial(self) -> bool:
        return self.equity >= self.initial


@dataclass(frozen=True, slots=True)
class PositionState:
    """A position as ``Exchange.position`` returns it: (size, quote, isolated, margin), with
    the funding index it settled up to (``Exchange.funding_owed``; zero while flat)."""

    size: Size
    quote: Collateral
    isolated: bool
    isolated_margin: Collateral
    funding: FundingIndex = FundingIndex(0)


FLAT = PositionState(Size(0), Collateral(0), False, Collateral(0))
"""A position never opened: its storage word and isolated margin are zero."""


@dataclass(frozen=True, slots=True)
class MarginParams:
    """A market's margin fractions (``Exchange.market_params``)."""

    initial_margin_ppm: MarginPpm
    maintenance_margin_ppm: MarginPpm


def unsettled_funding(position: PositionState, index: FundingIndex) -> Collateral:
    """What ``position`` receives (> 0) or pays (< 0) when it settles funding at ``index``
    (``ledger._settle_funding``). Only a snapshot that differs from the index is settled,
    as the contract does to skip the work: the payment of a zero change is zero anyway."""
    if position.size == 0 or position.funding == index:
        return Collateral(0)
    return funding_payment(position.size, index - position.funding)


def _add_position(
    health: Health,
    position: PositionState,
    price: Price,
    params: MarginParams,
    index: FundingIndex,
) -> Health:
    """``ledger._add_position``: the position's value with its unsettled funding, and its
    requirements."""
    worth = value(position.size, position.quote, price) + unsettled_funding(position, index)
    return Health(
        Collateral(health.equity + worth),
        Collateral(health.initial + requirement(position.size, price, params.initial_margin_ppm)),
        Collateral(
            health.maintenance + requirement(position.size, price, params.maintenance_margin_ppm)
        ),
    )


def cross_health(
    collateral: Collateral,
    positions: Mapping[MarketId, PositionState],
    prices: Mapping[MarketId, Price],
    params: Mapping[MarketId, MarginParams],
    funding_indexes: Mapping[MarketId, FundingIndex] | None = None,
) -> Health:
    """``Exchange.cross_health``: collateral plus every open cross position at ``prices``,
    with the funding it owes or is owed up to ``funding_indexes`` (none: every index zero).

    The contract walks the account's cross-market bit set, which holds exactly the cross
    positions of non-zero size (a cross position that goes flat realises its quote), so
    isolated and flat positions are skipped here and need no price.
    """
    indexes = funding_indexes or {}
    health = Health(collateral, Collateral(0), Collateral(0))
    for market, position in positions.items():
        if not position.isolated and position.size != 0:
            index = indexes.get(market, FundingIndex(0))
            health = _add_position(health, position, prices[market], params[market], index)
    return health


def isolated_health(
    position: PositionState,
    price: Price,
    params: MarginParams,
    funding_index: FundingIndex = FundingIndex(0),
) -> Health:
    """``Exchange.isolated_health``: an isolated position backed by its own margin only,
    with its unsettled funding up to ``funding_index``."""
    margin_only = Health(position.isolated_margin, Collateral(0), Collateral(0))
    return _add_position(margin_only, position, price, params, funding_index)


def reduced(pre_size: Size, post_size: Size) -> bool:
    """``Exchange._reduced``: the position only shrank (or stayed), without flipping."""
    if post_size == 0:
        return True
    return (pre_size > 0) == (post_size > 0) and abs(post_size) <= abs(pre_size)


def acceptable(pre: Health, post: Health, risk_reduced: bool) -> bool:
    """The end-of-batch rule (``Exchange._require_acceptable`` behind its initial check).

    Below initial margin an account passes only if the batch reduced its risk, left its
    equity non-negative and did not lower its margin ratio equity / maintenance; the
    ratios are compared cross-multiplied, as the contract does, so nothing rounds.
    """
    if post.meets_initial:
        return True
    return (
        risk_reduced
        and post.equity >= 0
        and post.equity * pre.maintenance >= pre.equity * post.maintenance
    )


def growth(old_size: Size, new_size: Size) -> Size:
    """``Exchange._growth``: size added on the same side, or all of it after a flip."""
    if old_size == 0 or (old_size > 0) != (new_size > 0):
        return Size(abs(new_size))
    return Size(max(abs(new_size) - abs(old_size), 0))


def apply_fill(
    position: PositionState,
    collateral: Collateral,
    side: Side,
    size: Size,
    price: Price,
    fee: Collateral,
    initial_margin_ppm: MarginPpm,
    mode: MarginMode,
    funding_index: FundingIndex = FundingIndex(0),
) -> tuple[PositionState, Collateral]:
    """One side of a settled fill (``Exchange._fill_side``): the new position and cross
    collateral of the order's trader.

    ``mode`` is the order's signed margin mode, which only matters when the position is
    flat. An open position first settles its funding up to the market's
    ``funding_index``, which becomes its snapshot. Raises OutOfRangeError where the
    contract's packing reverts the batch, and ValueError for a fill off the tick/lot grid,
    which the contract never settles (its notional would round).
    """
    layout = _layout()
    if size * price % units().size_scale:
        raise ValueError(f"fill of {size} at {price} is off the grid: its notional rounds")
    traded = notional(size, price)
    isolated = position.isolated if position.size != 0 else mode is MarginMode.ISOLATED
    new_size = Size(position.size + side * size)
    # a buyer pays the notional, a seller receives it; both pay their fee
    quote = position.quote + unsettled_funding(position, funding_index) - side * traded - fee
    margin = position.isolated_margin

    if isolated:
        grown = growth(position.size, new_size)
        if grown:
            moved = requirement(grown, price, initial_margin_ppm) + fee
            margin = Collateral(margin + moved)
            collateral = Collateral(collateral - moved)
        if new_size == 0 and margin + quote >= 0:
            # realised; otherwise the loss stays on record and the batch reverts
            collateral = Collateral(collateral + margin + quote)
            margin, quote = Collateral(0), 0
    elif new_size == 0:
        collateral = Collateral(collateral + quote)
        quote = 0
    # the contract packs both words once, at the end of the fill
    layout.size.check(new_size)
    layout.quote.check(quote)
    layout.collateral.check(collateral)
    return stored_position(new_size, Collateral(quote), isolated, margin, funding_index), collateral


def stored_position(
    size: Size,
    quote: Collateral,
    isolated: bool,
    isolated_margin: Collateral,
    funding_index: FundingIndex,
) -> PositionState:
    """The position as ``packing._pack_position`` stores it: the isolated flag only on a
    word that holds something, the funding snapshot only while the size is not zero."""
    _layout().funding.check(funding_index)
    return PositionState(
        size,
        quote,
        isolated and (size != 0 or quote != 0),
        isolated_margin,
        funding_index if size != 0 else FundingIndex(0),
    )
