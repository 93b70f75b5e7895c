"""Settlement: the calldata form of a batch and the batcher that submits it."""
