"""EIP-712 order verification on one core: digests and signer recoveries per second."""

from __future__ import annotations

import argparse
import json
import random
import time
from collections.abc import Callable

from eth_account import Account
from eth_account.messages import encode_typed_data

from perpdex.core.eip712 import (
    TIME_IN_FORCE_CODES,
    ChainId,
    Eip712Domain,
    FeePpm,
    Nonce,
    Order,
    UnixTime,
    sign_order,
    verify_order,
)
from perpdex.core.signing import Signature, SigningKey
from perpdex.core.types import Address, MarginMode, MarketId, Price, Size, TriggerDirection

# anvil's chain id and the address of the first contract its default deployer creates
BENCH_DOMAIN = Eip712Domain(ChainId(31337), Address("0x5FbDB2315678afecb367f032d93F642f64180aa3"))

Workload = list[tuple[Order, Signature]]


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--n", type=int, default=50_000, help="pre-signed orders to verify")
    parser.add_argument("--traders", type=int, default=100, help="distinct signing keys")
    parser.add_argument(
        "--eth-account-n", type=int, default=2_000, help="sample verified with eth-account"
    )
    parser.add_argument("--repeat", type=int, default=3, help="timed passes; the best is kept")
    parser.add_argument("--seed", type=int, default=712)


def run(args: argparse.Namespace) -> int:
    workload = presigned_orders(args.n, args.traders, random.Random(args.seed))
    sample = workload[: args.eth_account_n]
    figures = {
        "n": len(workload),
        "recoveries_per_s": _best_rate(workload, _verify_fast, args.repeat),
        "digest_only_per_s": _best_rate(workload, _digest_only, args.repeat),
        "eth_account_n": len(sample),
        "eth_account_recoveries_per_s": _best_rate(sample, _verify_eth_account, 1),
    }
    print(json.dumps(figures))
    return 0


def presigned_orders(n: int, traders: int, rng: random.Random) -> Workload:
    keys = [SigningKey(rng.randbytes(32)) for _ in range(traders)]
    workload: Workload = []
    triggers = (TriggerDirection.AT_OR_ABOVE, TriggerDirection.AT_OR_BELOW)
    for nonce in range(n):
        key = rng.choice(keys)
        # one in ten a stop-loss or take-profit (it hashes the same number of words)
        trigger = rng.choice(triggers) if rng.random() < 0.1 else TriggerDirection.NONE
        order = Order(
            trader=key.address,
            market=MarketId(rng.randrange(16)),
            is_buy=rng.random() < 0.5,
            size=Size(rng.randrange(1, 10**12)),
            limit_price=Price(rng.randrange(1, 10**12)),
            max_fee_ppm=FeePpm(rng.randrange(1_000)),
            margin_mode=rng.choice(list(MarginMode)),
            time_in_force=rng.choice(TIME_IN_FORCE_CODES),
            reduce_only=rng.random() < 0.1,
            expiry=UnixTime(rng.randrange(2**32)),
            nonce=Nonce(nonce),
            trigger_price=Price(rng.randrange(1, 10**12) if trigger else 0),
            trigger_direction=trigger,
        )
        workload.append((order, sign_order(order, key, BENCH_DOMAIN).signature))
    return workload


def _verify_fast(workload: Workload) -> None:
    for order, signature in workload:
        verify_order(order, signature, BENCH_DOMAIN)


def _digest_only(workload: Workload) -> None:
    digest = BENCH_DOMAIN.digest
    for order, _ in workload:
        digest(order)


def _verify_eth_account(workload: Workload) -> None:
    for order, signature in workload:
        message = encode_typed_data(full_message=BENCH_DOMAIN.full_message(order))
        if Account.recover_message(message, signature=signature.to_bytes()) != order.trader:
            raise AssertionError(f"eth-account recovered another signer for {order}")


def _best_rate(workload: Workload, timed: Callable[[Workload], None], repeat: int) -> int:
    # The fastest pass is the least disturbed by other processes on the machine.
    best = min(_elapsed_ns(timed, workload) for _ in range(max(repeat, 1)))
    return len(workload) * 1_000_000_000 // max(best, 1)


def _elapsed_ns(timed: Callable[[Workload], None], workload: Workload) -> int:
    start = time.perf_counter_ns()
    timed(workload)
    return time.perf_counter_ns() - start
