"""The market simulation's hedge figures: the VWAP against the index each fill met, over
the fills an index was observed before."""

from __future__ import annotations

from perpdex.core.types import Price, Size
from perpdex.core.units import to_price_units, to_size_units
from perpdex.sim.market.hedges import HedgeFill
from perpdex.sim.market.observer import IndexSample
from perpdex.sim.market.report import hedge_figures


def fill(at: float, price: str, size: str) -> HedgeFill:
    return HedgeFill(at, Price(to_price_units(price)), Size(to_size_units(size)))


def test_the_vwap_is_measured_against_the_index_each_fill_met() -> None:
    index = [IndexSample(1.0, to_price_units("100")), IndexSample(2.0, to_price_units("90"))]
    fills = [fill(1.5, "99", "1"), fill(2.5, "89.1", "1")]  # 1% below each index
    figures = hedge_figures(fills, index)
    assert figures["hedge_vwap"] == 94.05 and figures["hedge_fills"] == 2
    assert figures["hedge_vwap_vs_index_bps"] == -100.0


def test_a_fill_before_any_index_is_left_out_of_the_comparison() -> None:
    index = [IndexSample(1.0, to_price_units("100"))]
    figures = hedge_figures([fill(0.5, "120", "3"), fill(1.5, "99", "1")], index)
    assert figures["hedge_vwap_vs_index_bps"] == -100.0  # the first met no index
    assert hedge_figures([fill(0.5, "120", "3")], index)["hedge_vwap_vs_index_bps"] is None
