"""Every off-chain service in one process, wired for ``perpdex up`` (docs/services.md)."""
