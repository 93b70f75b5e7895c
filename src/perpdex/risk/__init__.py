"""The position manager: on-chain accounts mirrored from the Exchange's events, plus the
engine's fills not yet settled, margin at the current prices with the contract's integer
math, and the gateway's pre-trade check (docs/services.md)."""
