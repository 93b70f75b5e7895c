"""``GET /metrics``: the node in Prometheus' text format, from its own registry (a
process may run more than one node: tests do).

Everything is read when scraped, from counts the node keeps anyway (the gateway's order
ids, the tape's fills, the node's refused fills, the operator log's batches and keeper
actions, the chain status): the order path does no work for metrics.
"""

from __future__ import annotations

from collections.abc import Iterator

from prometheus_client import CollectorRegistry
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from perpdex.core.units import from_collateral_units
from perpdex.http.sources import Sources

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"


def registry_of(sources: Sources) -> CollectorRegistry:
    registry = CollectorRegistry(auto_describe=False)
    registry.register(_NodeCollector(sources))
    return registry


class _NodeCollector(Collector):
    def __init__(self, sources: Sources) -> None:
        self._sources = sources

    def collect(self) -> Iterator[Metric]:
        sources = self._sources
        gateway = sources.gateway()
        if gateway is not None:
            yield _counter("perpdex_orders", "Orders the gateway accepted", gateway.orders_placed)
            yield _counter("perpdex_fills", "Fills the engine made", gateway.tape.fills)
            refusals = CounterMetricFamily(
                "perpdex_request_refusals",
                "Requests the gateway refused, by error code",
                labels=["code"],
            )
            for code, count in sorted(gateway.refusals.items()):
                refusals.add_metric([code], count)
            yield refusals
        log = sources.operator
        rejected = CounterMetricFamily(
            "perpdex_fill_rejections",
            "Fills that will never settle, by reason (contract or batcher)",
            labels=["reason"],
        )
        for reason, count in sorted(log.refusals.items()):
            rejected.add_metric([reason], count)
        yield rejected
        yield _counter(
            "perpdex_settle_transactions", "Settle transactions mined", log.settle_transactions
        )
        yield _counter("perpdex_settle_gas", "Gas used by settle transactions", log.settle_gas)
        yield _counter("perpdex_settled_fills", "Fills settled on chain", log.settled_fills)
        actions = CounterMetricFamily(
            "perpdex_keeper_actions", "Keeper transactions mined, by kind", labels=["kind"]
        )
        for kind, count in sorted(log.keeper_actions.items()):
            actions.add_metric([kind], count)
        yield actions
        yield _counter(
            "perpdex_liquidations",
            "Liquidation steps and deleveragings by the node's keeper",
            log.keeper_actions["liquidation"] + log.keeper_actions["deleverage"],
        )
        progress = sources.progress()
        if progress.durable_seq is not None and progress.settled_seq is not None:
            yield _gauge(
                "perpdex_settlement_lag_commands",
                "Journal commands durable but not yet settled through",
                progress.durable_seq - progress.settled_seq,
            )
        chain = sources.chain.snapshot
        if chain is not None:
            yield _gauge(
                "perpdex_insurance_fund_usdc",
                "The Exchange's insurance fund (USDC)",
                float(from_collateral_units(chain.insurance_fund)),
            )
            if progress.folded_block is not None:
                yield _gauge(
                    "perpdex_chain_head_lag_blocks",
                    "Blocks between the chain head and the position manager's fold",
                    max(chain.head - progress.folded_block, 0),
                )


def _counter(name: str, documentation: str, value: float) -> CounterMetricFamily:
    return CounterMetricFamily(name, documentation, value=value)


def _gauge(name: str, documentation: str, value: float) -> GaugeMetricFamily:
    return GaugeMetricFamily(name, documentation, value=value)
