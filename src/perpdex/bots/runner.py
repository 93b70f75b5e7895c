"""The live demo's traders: for every market the deployment lists, a market maker and
``takers`` random takers, each with its own wallet (derived from the seed, credited by the
admin before trading: they hold no ether and need none) and its own SDK client over the
gateway.

    credit_bots(deployment, config)
    async with trading(deployment, node.gateway.url, config, state_dir):
        ...   # they quote and take until the block ends; then they stop, the makers
              # cancel their quotes and the clients close, before the node stops
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Final, Literal

from perpdex.bots.config import BotsConfig
from perpdex.bots.maker import MarketMaker
from perpdex.bots.taker import RandomTaker
from perpdex.chain.deploy import bind, credit
from perpdex.chain.deployment import Deployment, ListedMarket, Role
from perpdex.chain.transact import connect
from perpdex.core.signing import SigningKey
from perpdex.core.types import Collateral
from perpdex.core.units import from_price_units, to_collateral_units
from perpdex.sdk.client import Client
from perpdex.sdk.display import plain
from perpdex.sdk.gateway_errors import GatewayError
from perpdex.sim.cascade.chain import trader_key

log = logging.getLogger(__name__)

REPORT_EVERY_S: Final = 10.0
"""How often the bots' activity is logged (info)."""

Bot = MarketMaker | RandomTaker


@dataclass(frozen=True, slots=True)
class BotWallet:
    role: Literal["maker", "taker"]
    index: int
    """0 for the maker, 1.. for the takers of its market."""
    market: ListedMarket
    key: SigningKey
    deposit: Collateral

    @property
    def label(self) -> str:
        number = f" {self.index}" if self.role == "taker" else ""
        return f"{self.role}{number} {self.market.symbol}"


def bot_wallets(markets: Sequence[ListedMarket], config: BotsConfig) -> list[BotWallet]:
    """Every bot's wallet: the same addresses for the same seed."""
    wallets: list[BotWallet] = []
    for market in markets:
        for index in range(config.takers + 1):
            role: Literal["maker", "taker"] = "maker" if index == 0 else "taker"
            usdc = config.maker_usdc if index == 0 else config.taker_usdc
            key = trader_key(config.seed, index, f"demo {market.symbol}")
            wallets.append(BotWallet(role, index, market, key, to_collateral_units(usdc)))
    return wallets


def credit_bots(deployment: Deployment, config: BotsConfig) -> None:
    """The admin deposits each bot's collateral (a local chain's faucet)."""
    web3 = connect(deployment.rpc_url)
    admin = deployment.wallet(Role.ADMIN).account()
    deposits = [(w.key.address, w.deposit) for w in bot_wallets(deployment.markets, config)]
    credit(web3, bind(web3, deployment), admin, deposits)


def new_bot(wallet: BotWallet, client: Client, config: BotsConfig) -> Bot:
    market = wallet.market
    if wallet.role == "maker":
        spec = config.maker_spec(market)
        return MarketMaker(client, market, spec, config.seed, config.requote_poll_s)
    seed = config.seed * 1_000 + market.id * 100 + wallet.index
    return RandomTaker(client, market, config.taker_spec(market), seed)


@contextlib.asynccontextmanager
async def trading(
    deployment: Deployment, gateway_url: str, config: BotsConfig, state_dir: Path
) -> AsyncIterator[list[Bot]]:
    """Every bot trading through ``gateway_url`` while the block runs (``state_dir``: their
    nonces). On exit the bots stop, then the makers cancel their quotes."""
    wallets = bot_wallets(deployment.markets, config)
    bots = [
        new_bot(
            wallet,
            Client.connect(gateway_url, wallet.key.secret, deployment, state_dir=state_dir),
            config,
        )
        for wallet in wallets
    ]
    async with contextlib.AsyncExitStack() as stack:
        for bot in bots:
            await stack.enter_async_context(bot.client)
        tasks = [
            asyncio.create_task(bot.run(), name=wallet.label)
            for wallet, bot in zip(wallets, bots, strict=True)
        ]
        for task in tasks:
            task.add_done_callback(_report_stopped)
        tasks.append(asyncio.create_task(_report(bots), name="bots report"))
        log.info("%d bots trading %s", len(bots), ", ".join(m.symbol for m in deployment.markets))
        try:
            yield bots
        finally:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            await _withdraw_quotes(bots)
            log.info("bots stopped, %s", _activity(bots))


def _report_stopped(task: asyncio.Task[None]) -> None:
    """A bot ends only when cancelled: anything else leaves its market short of a trader."""
    if not task.cancelled() and (error := task.exception()) is not None:
        log.error("bot %s stopped: %s", task.get_name(), error, exc_info=error)


async def _report(bots: Sequence[Bot]) -> None:
    while True:
        await asyncio.sleep(REPORT_EVERY_S)
        log.info("bots: %s", _activity(bots))


def _activity(bots: Sequence[Bot]) -> str:
    sent = sum(bot.sent for bot in bots)
    refused = sum(bot.refused for bot in bots)
    fills = sum(bot.fills.count for bot in bots)
    quoted = ", ".join(
        f"{bot.market.symbol} {plain(from_price_units(bot.reference))}"
        for bot in bots
        if isinstance(bot, MarketMaker) and bot.reference is not None
    )
    return (
        f"{sent} orders and amends sent ({refused} refused), {fills} own fills;"
        f" quoting around {quoted or 'nothing yet'}"
    )


async def _withdraw_quotes(bots: Sequence[Bot]) -> None:
    for bot in bots:
        if isinstance(bot, MarketMaker):
            # the node may already be gone (it stops after the bots): nothing rests then
            with contextlib.suppress(GatewayError, ConnectionError):
                await bot.withdraw()
