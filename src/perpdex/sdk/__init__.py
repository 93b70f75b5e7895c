"""The trader SDK: an async client of the gateway plus the on-chain operations a wallet does
itself (deposit, withdraw, cancel on chain). See ``docs/sdk.md``."""
