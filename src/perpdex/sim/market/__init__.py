"""``perpdex sim market`` and ``perpdex bench settle``: bots trading through a whole node
(gateway, engine, settlement, position manager, keeper in hedge mode) on anvil, with an
oracle path that walks and then crashes (docs/simulations.md, "Market with bots")."""
