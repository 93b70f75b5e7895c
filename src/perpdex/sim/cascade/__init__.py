"""``perpdex sim cascade``: a sharp price drop on a crowded, leveraged book of longs, run on
a real anvil with the real keeper, once with tiered liquidation and once with every step a
full closure (docs/simulations.md, "Liquidation cascade"); with ``--feedback`` the index
follows the venue's own engine book, which the keeper's forced sales move."""
