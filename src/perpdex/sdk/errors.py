"""The SDK's typed errors: each says what went wrong in one line a trader can act on.

Amount errors (:mod:`perpdex.sdk.amounts`) are ``ValueError``; everything that fails after
the input was understood derives from :class:`SdkError`.
"""

from __future__ import annotations


class SdkError(Exception):
    """Base of the errors the SDK raises for the chain, the gateway and the wallet."""


class InvalidKeyError(SdkError, ValueError):
    """The private key is not 32 bytes of hex in the curve's range (never echoed)."""


class UnknownMarketError(SdkError, KeyError):
    """No market with this symbol or id is listed in the deployment."""

    def __str__(self) -> str:  # KeyError would print the message in quotes
        return str(self.args[0])


class ChainUnavailableError(SdkError, ConnectionError):
    """The JSON-RPC node does not answer (or stopped answering)."""


class ChainRevertError(SdkError):
    """The contract refused the transaction; ``reason`` is its revert string."""

    def __init__(self, action: str, reason: str) -> None:
        super().__init__(f"{action} reverted: {reason}")
        self.action = action
        self.reason = reason


class InsufficientFundsError(SdkError):
    """The wallet holds less collateral token than it tries to move."""
