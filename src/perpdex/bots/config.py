"""The live demo's market in one typed value: its bots, what they trade, and the oracle path.

Sizes are given as USDC notional at a market's listed price, so every market listed by the
deployment is quoted and taken alike (0.1 BTC and 3.33 ETH are both 10,000 USDC); each is
rounded down to whole lots of the market (:func:`~perpdex.sim.depth.lots_worth`).
"""

from __future__ import annotations

from dataclasses import dataclass

from perpdex.bots.ladder import MakerSpec
from perpdex.bots.taker import TakerSpec
from perpdex.chain.deployment import ListedMarket
from perpdex.core.types import Collateral, MarketId, Size
from perpdex.core.units import to_collateral_units
from perpdex.keeper.price_path import RandomWalk
from perpdex.sim.depth import lots_worth


@dataclass(frozen=True, slots=True)
class BotsConfig:
    seed: int = 1
    """Derives the bots' keys, their orders and timing, and the oracle's walk: one seed, one
    run (the chain's timing still varies with the machine)."""

    # -- one market maker a market ----------------------------------------------------------
    levels: int = 5
    """Post-only quotes a side."""
    half_spread_ppm: int = 500
    level_step_ppm: int = 500
    level_usdc: int = 10_000
    """The nearest level's notional; each further level ``growth_ppm`` of it larger."""
    growth_ppm: int = 500_000
    max_inventory_usdc: int = 500_000
    """Beyond this position the maker stops quoting the side that would grow it; above
    what the takers can hold together, so it is a guard, not the rule."""
    maker_usdc: int = 1_000_000
    """Each maker's deposit: its quotes reserve initial margin at the gateway."""
    requote_poll_s: float = 0.5
    """How often a maker reads the index (and requotes when it moved)."""

    # -- random takers, per market ----------------------------------------------------------
    takers: int = 2
    taker_usdc: int = 50_000
    taker_max_leverage: int = 3
    """A taker's position stays under this many times its deposit: takers trade both ways."""
    taker_min_usdc: int = 500
    taker_max_usdc: int = 10_000
    taker_interval_s: float = 1.5
    """Mean wait between a taker's orders (exponential)."""
    taker_slippage_ppm: int = 3_000

    # -- the chain ----------------------------------------------------------------------
    volatility_ppm: int = 1_000
    """The oracle's random walk: sigma per step (0.1% a second moves a 1 m candle)."""
    price_step_s: float = 1.0
    block_time_s: int = 1
    """Seconds per block once the bots are funded (deploying mines one per transaction)."""

    def __post_init__(self) -> None:
        if self.takers < 0 or self.levels < 1:
            raise ValueError("the demo needs at least one quote a side and no negative takers")
        if not 0 < self.taker_min_usdc <= self.taker_max_usdc:
            raise ValueError("a taker's order sizes must be positive and min <= max")

    def maker_spec(self, market: ListedMarket) -> MakerSpec:
        return MakerSpec(
            levels=self.levels,
            half_spread_ppm=self.half_spread_ppm,
            level_step_ppm=self.level_step_ppm,
            base_size=self._size(market, self.level_usdc),
            growth_ppm=self.growth_ppm,
            max_inventory=self._size(market, self.max_inventory_usdc),
        )

    def taker_spec(self, market: ListedMarket) -> TakerSpec:
        return TakerSpec(
            collateral=to_collateral_units(self.taker_usdc),
            max_leverage=self.taker_max_leverage,
            min_size=self._size(market, self.taker_min_usdc),
            max_size=self._size(market, self.taker_max_usdc),
            mean_interval_s=self.taker_interval_s,
            slippage_ppm=self.taker_slippage_ppm,
        )

    def price_walk(self, market: ListedMarket) -> RandomWalk:
        """The path the node's keeper pushes to ``market``'s oracle (seeded by market, as
        ``perpdex up --random-walk`` seeds it)."""
        return RandomWalk(
            seed=self.seed + market.id,
            start=market.index_price,
            tick=market.tick_size,
            step_s=self.price_step_s,
            volatility_ppm=self.volatility_ppm,
        )

    def price_walks(self, markets: tuple[ListedMarket, ...]) -> dict[MarketId, RandomWalk]:
        return {MarketId(market.id): self.price_walk(market) for market in markets}

    @staticmethod
    def _size(market: ListedMarket, usdc: int) -> Size:
        """``usdc`` of ``market`` at its listed price, in whole lots, at least one."""
        worth = lots_worth(
            Collateral(to_collateral_units(usdc)), market.index_price, market.lot_size
        )
        return Size(max(worth, market.lot_size))
