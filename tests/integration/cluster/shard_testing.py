"""BTC's engine shard written by a test as the engine process writes it (a sequencer over
the shard's journal stream), for the processes that follow the journals: orders signed by
the deployment's wallets, placed without a gateway."""

from __future__ import annotations

import itertools
import time

from perpdex.chain.deployment import Deployment, Role
from perpdex.cluster.journal import JetStreamJournal
from perpdex.cluster.streams import ShardId, StreamLayout
from perpdex.core.eip712 import FeePpm, Nonce, Order, SignedOrder, UnixTime, sign_order
from perpdex.core.signing import SigningKey
from perpdex.core.types import MarginMode, MarketId, OrderId, Price, Size, TimeInForce
from perpdex.engine.clock import WallClock
from perpdex.engine.commands import NewOrder
from perpdex.engine.config import MarketConfig
from perpdex.engine.engine import Engine
from perpdex.engine.sequencer import Sequencer
from perpdex.risk.from_chain import deployment_domain
from perpdex.settlement.payload import order_payload

BTC = MarketId(0)


class Shard0:
    """BTC's engine shard, written here as the engine process writes it."""

    def __init__(self, urls: list[str], layout: StreamLayout, deployment: Deployment) -> None:
        btc = deployment.markets[0]
        self.deployment = deployment
        self.journal = JetStreamJournal(urls, layout, ShardId(0))
        engine = Engine([MarketConfig(BTC, btc.tick_size, btc.lot_size)])
        self.sequencer = Sequencer(engine, WallClock(), self.journal)
        self.ids = itertools.count(1)

    def order(self, role: Role, *, is_buy: bool, nonce: int, price: int = 100_000) -> SignedOrder:
        btc = self.deployment.markets[0]
        key = self.deployment.wallet(role).private_key
        assert key is not None
        order = Order(
            trader=self.deployment.wallet(role).address,
            market=BTC,
            is_buy=is_buy,
            size=Size(btc.lot_size * 10),
            limit_price=Price(price * 10**6),
            max_fee_ppm=FeePpm(10_000),
            margin_mode=MarginMode.CROSS,
            time_in_force=TimeInForce.GTC,
            reduce_only=False,
            expiry=UnixTime(int(time.time()) + 3600),
            nonce=Nonce(nonce),
        )
        return sign_order(
            order, SigningKey(bytes.fromhex(key[2:])), deployment_domain(self.deployment)
        )

    def place(self, signed: SignedOrder) -> OrderId:
        order = signed.order
        order_id = OrderId(next(self.ids))
        self.sequencer.submit(
            NewOrder(
                market=order.market,
                order_id=order_id,
                account=order.trader,
                side=order.side,
                price=order.limit_price,
                size=order.size,
                tif=order.time_in_force,
                payload=order_payload(signed),
            )
        )
        self.sequencer.flush()
        return order_id

    def close(self) -> None:
        self.journal.close()
