"""Core domain: units and rounding, typed values, EIP-712 types, the risk math model."""
