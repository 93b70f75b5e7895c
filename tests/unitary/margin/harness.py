"""The MarginHarness contract and what the property tests feed it and the model.

Both sides are called through :func:`outcome`, which turns a revert (contract) or an
``ArithmeticError`` (model) into the same :data:`REVERTED` marker, so one equality checks
the integers and which inputs revert.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any, Final

import boa
from boa.contracts.base_evm_contract import BoaError
from boa.contracts.vyper.vyper_contract import VyperDeployer
from hypothesis import strategies as st

from perpdex.core.units import units

HARNESS: VyperDeployer = boa.load_partial(str(Path(__file__).with_name("MarginHarness.vy")))

REVERTED: Final = "reverted"


def outcome(function: Callable[..., Any], *args: Any) -> Any:
    """``function(*args)``, or REVERTED if the contract reverts or the model raises."""
    try:
        return function(*args)
    except (BoaError, ArithmeticError):
        return REVERTED


def signed(bits: int) -> st.SearchStrategy[int]:
    return st.integers(min_value=-(2 ** (bits - 1)), max_value=2 ** (bits - 1) - 1)


def unsigned(bits: int) -> st.SearchStrategy[int]:
    return st.integers(min_value=0, max_value=2**bits - 1)


# The ranges the contract works in: int64 sizes, int96 quotes, 64-bit prices, fractions up
# to 100%. Inside them no intermediate overflows, so both sides must return the same integer.
sizes = signed(64)
quotes = signed(96)
prices = st.integers(min_value=0, max_value=2**64)
fractions = st.integers(min_value=0, max_value=units().fraction_scale)

# Whole EVM words, where the model must revert exactly where the contract does.
int256s = signed(256)
uint256s = unsigned(256)
