"""The protocol's integer scales, read from ``contracts/units.vy`` through the Vyper compiler.

The contract is the one definition of every scale: this module folds its constants with the
compiler (so ``10 ** SIZE_DECIMALS`` is evaluated exactly as the contract sees it) instead of
retyping a number. Conversions between human decimals and integer units never round: a value
that does not fit the scale exactly raises :class:`InexactConversionError`.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, fields
from decimal import Decimal, InvalidOperation
from functools import cache
from pathlib import Path
from types import MappingProxyType

import vyper.ast as vy_ast
from vyper.compiler.input_bundle import FilesystemInputBundle
from vyper.compiler.phases import CompilerData

from perpdex.core.types import Collateral, Price, Size

CONTRACTS_DIR_ENV = "PERPDEX_CONTRACTS_DIR"
"""Environment variable that points the services at another contracts folder."""

UNITS_SOURCE = "units.vy"

DecimalLike = Decimal | str | int
"""A human amount: floats are refused because their binary value is rarely the one typed."""


class InexactConversionError(ValueError):
    """A decimal amount has more fractional digits than its integer scale can hold."""


class MalformedDecimalError(ValueError):
    """A human amount is not a finite decimal number (empty, garbage, NaN, infinity, float)."""


@dataclass(frozen=True, slots=True)
class Units:
    """The scales of ``contracts/units.vy``; each field is the lower-case constant name."""

    collateral_decimals: int
    size_decimals: int
    size_scale: int
    price_decimals: int
    fraction_scale: int


def contracts_dir() -> Path:
    """The contracts folder: ``$PERPDEX_CONTRACTS_DIR`` or ``<repo>/contracts``."""
    override = os.environ.get(CONTRACTS_DIR_ENV)
    if override:
        return Path(override)
    return Path(__file__).resolve().parents[3] / "contracts"


@cache
def vyper_constants(source: Path) -> Mapping[str, int]:
    """Every integer ``constant`` of a Vyper module, folded by the compiler.

    Only the semantic pass runs (no code generation), so this stays well under a second.
    Imports are resolved against the module's own folder, like the deploy step does.
    """
    bundle = FilesystemInputBundle([source.parent])
    module = CompilerData(bundle.load_file(source), bundle).annotated_vyper_module
    folded: dict[str, int] = {}
    for decl in module.get_children(vy_ast.VariableDecl, {"is_constant": True}):
        value = decl.value.get_folded_value()
        if isinstance(value, vy_ast.Int):
            folded[decl.target.id] = value.value
    return MappingProxyType(folded)


@cache
def units() -> Units:
    """The protocol's scales, compiled once on first use."""
    constants = vyper_constants(contracts_dir() / UNITS_SOURCE)
    return Units(**{field.name: constants[field.name.upper()] for field in fields(Units)})


def to_collateral_units(amount: DecimalLike) -> Collateral:
    """``"12.5"`` USDC -> ``12_500_000``; raises if the amount has more than 6 decimals."""
    return Collateral(_to_units(amount, units().collateral_decimals))


def to_size_units(amount: DecimalLike) -> Size:
    """Base-asset amount -> size units (``SIZE_DECIMALS``); raises rather than round."""
    return Size(_to_units(amount, units().size_decimals))


def to_price_units(amount: DecimalLike) -> Price:
    """Collateral per whole base unit -> price units (``PRICE_DECIMALS``); never rounds."""
    return Price(_to_units(amount, units().price_decimals))


def from_collateral_units(amount: Collateral) -> Decimal:
    return _from_units(amount, units().collateral_decimals)


def from_size_units(amount: Size) -> Decimal:
    return _from_units(amount, units().size_decimals)


def from_price_units(amount: Price) -> Decimal:
    return _from_units(amount, units().price_decimals)


def trimmed(amount: Decimal) -> Decimal:
    """The same number without trailing zeros (``3000.000000`` -> ``3000``, ``0.01000000``
    -> ``0.01``), as a trader types it; exact at any length (``normalize`` would round to
    the context's precision, and show ``3E+3``)."""
    sign, digits, exponent = amount.as_tuple()
    assert isinstance(exponent, int)  # a converted amount is finite
    if not any(digits):
        return Decimal(0)
    end = len(digits)
    while exponent < 0 and digits[end - 1] == 0:
        end -= 1
        exponent += 1
    return Decimal((sign, digits[:end], exponent))


def _to_units(amount: DecimalLike, decimals: int) -> int:
    number = _to_decimal(amount)
    sign, digits, exponent = number.as_tuple()
    if not isinstance(exponent, int):  # 'n', 'N' or 'F': NaN, sNaN or infinity
        raise MalformedDecimalError(f"{amount!r} is not a finite number")
    # Integer arithmetic on the coefficient: Decimal arithmetic would round to the context's
    # 28 significant digits, which a uint256 amount can exceed.
    coefficient = int("".join(map(str, digits)))
    shift = exponent + decimals
    scale: int = 10 ** abs(shift)
    if shift >= 0:
        magnitude = coefficient * scale
    else:
        magnitude, remainder = divmod(coefficient, scale)
        if remainder:
            raise InexactConversionError(f"{amount!r} has more than {decimals} decimals")
    return -magnitude if sign else magnitude


def _to_decimal(amount: DecimalLike) -> Decimal:
    # bool is an int subclass and float a common JSON accident: neither is a typed amount.
    if isinstance(amount, bool | float):
        raise MalformedDecimalError(f"{amount!r}: pass amounts as str, int or Decimal")
    if isinstance(amount, Decimal):
        return amount
    try:
        return Decimal(amount)
    except InvalidOperation:
        raise MalformedDecimalError(f"{amount!r} is not a decimal number") from None


def _from_units(amount: int, decimals: int) -> Decimal:
    # The string constructor is exact at any length (no context rounding).
    return Decimal(f"{amount}E-{decimals}")
