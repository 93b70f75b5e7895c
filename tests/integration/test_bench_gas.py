"""``perpdex bench gas`` on a real anvil, with small batches: the figures it prints are sane."""

from __future__ import annotations

from perpdex.bench.gas import GasBench
from perpdex.chain.anvil import Anvil


def test_gas_bench_measures_every_mix_and_size() -> None:
    with Anvil() as anvil:
        figures = GasBench(anvil, (1, 4)).measure()
    assert set(figures) == {"distinct", "repeat", "first", "trigger"}
    for mix in figures.values():
        assert set(mix) == {"1", "4"}
        # a larger batch spreads the transaction's fixed cost over more fills
        assert 0 < mix["4"] < mix["1"]
    # a first trade writes fresh storage; a steady-state one only updates it
    assert figures["first"]["4"] > figures["distinct"]["4"]
    # a trigger order costs its trigger word and check on top of a plain one
    assert figures["trigger"]["4"] > figures["distinct"]["4"]
