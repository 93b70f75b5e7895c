"""perpdex: a hybrid perpetual-futures exchange (off-chain matching, on-chain settlement)."""
