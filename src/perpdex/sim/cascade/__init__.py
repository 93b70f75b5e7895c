"""``perpdex sim cascade``: a sharp price drop on a crowded, leveraged book of longs, run on
a real anvil with the real keeper, once with tiered liquidation and once with every step a
full closure (docs/simulations.md, "Liquidation cascade")."""
