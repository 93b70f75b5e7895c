"""``perpdex audit``: anyone, without an operator key, checks the operator against its own
published journal and the chain (docs/audit.md).

``source`` reads the journal (a file, or the gateway's paged ``/journal``), ``hash_chain``
recomputes its keccak chain, ``checkpoints`` compares it with every on-chain checkpoint,
``replay`` runs the engine over it, ``reference`` is an independent list-based matcher that
``priority`` runs beside the replay, ``onchain`` reads the Exchange's fill outcomes that
``settlement`` compares with the replay's fills, ``receipts`` checks traders' signed receipts,
``audit`` runs them all and ``report`` prints the result.
"""
