"""``perpdex audit``: anyone, without an operator key, checks the operator against its own
published journal and the chain (docs/audit.md).

``source`` reads the journal (a file, or the node's paged ``/journal``), ``hash_chain``
recomputes its keccak chain, ``checkpoints`` compares it with every on-chain checkpoint,
``replay`` runs the engine over it, ``reference`` is an independent list-based matcher that
``priority`` runs beside the replay, ``onchain`` reads the Exchange's fill outcomes (which
``settlement`` compares with the replay's fills) and the nonces traders closed (to which
``chain_cancels`` holds the journal's "cancelled on chain"), ``receipts`` checks traders'
signed receipts, ``audit`` runs them all and ``report`` prints the result.
"""
