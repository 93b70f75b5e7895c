"""The keeper: periodic on-chain duties of the operator (``checkpoint``: the journal's head)."""
