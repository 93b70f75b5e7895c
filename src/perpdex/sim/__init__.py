"""Simulations: market models run against the real matching engine, printing figures.

* ``amm``: an oracle-priced pool with a GMX v2-style price impact curve.
* ``depth``: a market maker's ladder of resting orders in the real engine, and a market
  order's slippage through it.
* ``amm_vs_book``: both, over a list of trade sizes (``perpdex sim amm-vs-book``).
* ``plot``: slippage against trade size as a PNG.
"""
