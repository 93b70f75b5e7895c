"""Trading bots that use only the public trader SDK (``perpdex.sdk.client.Client``), so
what they meet is what a trader meets: signed orders through the gateway, the gateway's
pre-trade margin check, fills settled on chain. ``perpdex sim market`` and ``perpdex demo`` run
them.

* ``ladder``: the market maker's quotes and the order of its requotes (pure);
* ``fills``: a bot's own fills, from its account channel;
* ``ioc``: what the taking bots share (the index, counted IOC orders);
* ``maker``: the market maker (a ladder around the oracle's index price);
* ``taker``: seeded random IOC takers, leverage-capped.
"""
