"""Time the journal part of ``perpdex audit`` (hash chain, engine replay, reference matcher
beside it) on a journal written by ``perpdex bench engine --journal``, without a chain."""

from __future__ import annotations

import argparse
import json
import time
from functools import partial
from pathlib import Path

from perpdex.audit.audit import AuditSetup, run_audit
from perpdex.audit.source import open_source
from perpdex.bench.engine import MARKET
from perpdex.engine.config import MarketConfig


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--journal", type=Path, required=True, help="from `perpdex bench engine`")


def run(args: argparse.Namespace) -> int:
    # the engine benchmark's market, and no self-trade prevention, as it ran
    setup = AuditSetup(
        markets=[MarketConfig(MARKET)], domain=None, chain=None, self_trade_prevention=False
    )
    started, cpu = time.perf_counter(), time.process_time()
    report = run_audit(partial(open_source, str(args.journal)), setup)
    elapsed, cpu_s = time.perf_counter() - started, time.process_time() - cpu
    summary = report.summary
    print(
        json.dumps(
            {
                "ok": report.ok,
                "commands": summary.commands,
                "fills": summary.fills,
                "elapsed_s": round(elapsed, 2),
                "cpu_s": round(cpu_s, 2),
                "commands_per_s": round(summary.commands / elapsed),
                "first": None if report.first is None else report.first.describe(),
            }
        )
    )
    return 0 if report.ok else 1
