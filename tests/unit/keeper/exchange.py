"""An in-memory exchange for the liquidator's tests: one market, cross accounts, the
contract's rules in miniature (step 30% or whole, penalty shared with the insurance fund,
FUND_SHORT when the fund cannot cover, deleveraging at the bankruptcy price). It is both the
liquidator's AccountSource and its chain."""

from __future__ import annotations

from dataclasses import dataclass, field

from perpdex.core import liquidation
from perpdex.core.margin import Health
from perpdex.core.rounding import div_ceil, div_floor
from perpdex.core.types import Address, Collateral, MarketId, Price, Size
from perpdex.core.units import units
from perpdex.keeper.accounts import AccountView, PositionView
from perpdex.keeper.chain import Quote, Step
from perpdex.keeper.transactions import Reverted

BTC = MarketId(0)
KEEPER = Address("0xkeeper")
PPM = 1_000_000
MAINTENANCE_PPM = 30_000
INITIAL_PPM = 50_000
PENALTY_PPM = 15_000
FRACTION_PPM = 300_000
LOT = Size(10_000)


@dataclass
class Holding:
    collateral: int
    size: int = 0
    quote: int = 0


@dataclass
class Exchange:
    price: Price
    accounts_: dict[Address, Holding] = field(default_factory=dict)
    fund: int = 0
    fresh: bool = True
    block: int = 100
    in_flight: set[tuple[Address, MarketId]] = field(default_factory=set)
    reads: int = 0
    sent: list[tuple[str, Address]] = field(default_factory=list)

    # -- AccountSource --------------------------------------------------------------------

    def accounts(self) -> list[AccountView]:
        self.reads += 1
        return [self.account(t) for t, h in sorted(self.accounts_.items()) if h.size]

    def account(self, trader: Address) -> AccountView:
        held = self.accounts_[trader]
        positions: tuple[PositionView, ...] = ()
        if held.size:
            positions = (
                PositionView(
                    BTC, Size(held.size), Collateral(held.quote), False, Collateral(0), None
                ),
            )
        return AccountView(trader, self.health(held), positions, self.block)

    def health(self, held: Holding) -> Health:
        scale = units().size_scale
        equity = held.collateral + held.quote + div_floor(held.size * self.price, scale)
        notional = abs(held.size) * self.price
        return Health(
            Collateral(equity),
            Collateral(div_ceil(notional * INITIAL_PPM, scale * PPM)),
            Collateral(div_ceil(notional * MAINTENANCE_PPM, scale * PPM)),
        )

    # -- LiquidationChain -----------------------------------------------------------------

    @property
    def keeper(self) -> Address:
        return KEEPER

    def block_number(self) -> int:
        return self.block

    def quotes(self) -> dict[MarketId, Quote]:
        return {BTC: Quote(self.price, self.fresh)}

    def liquidation_in_flight(self, trader: Address, market: MarketId) -> bool:
        return (trader, market) in self.in_flight

    def submit_liquidation(self, trader: Address, market: MarketId) -> bytes:
        held = self.accounts_[trader]
        if not held.size:
            raise Reverted(liquidation.NO_POSITION)
        health = self.health(held)
        if health.equity >= health.maintenance:
            raise Reverted(liquidation.ABOVE_MAINTENANCE)
        amount = abs(held.size)
        step = div_ceil(amount * FRACTION_PPM, PPM * LOT) * LOT
        notional = amount * self.price // units().size_scale
        if step + LOT > amount or health.equity <= notional * PENALTY_PPM // PPM:
            step = amount
        sign = 1 if held.size > 0 else -1
        cash = sign * step * self.price // units().size_scale
        penalty = min(abs(cash) * PENALTY_PPM // PPM, max(health.equity, 0))
        left = held.collateral + held.quote + cash - penalty
        if step == amount and left < 0:
            if self.fund < -left:
                raise Reverted(liquidation.FUND_SHORT)
            self.fund += left
            left = 0
        self.fund += penalty - penalty // 2
        self._move(trader, -sign * step, cash - penalty)
        self._move(KEEPER, sign * step, penalty // 2 - cash)
        if step == amount:
            held.collateral, held.quote = left, 0
        self.sent.append(("liquidate", trader))
        return bytes([len(self.sent)])

    def wait_liquidation(self, trader: Address, market: MarketId, tx_hash: bytes) -> Step:
        # every transaction sent since the last block lands in the next one
        return Step(self.block + 1, tx_hash)

    def mine(self) -> None:
        self.block += 1

    def deleverage(self, trader: Address, market: MarketId, counterparty: Address) -> Step:
        held, other = self.accounts_[trader], self.accounts_[counterparty]
        deficit = -self.health(held).equity
        if deficit <= 0 or self.fund >= deficit:
            raise Reverted(liquidation.NOT_BANKRUPT)
        if not other.size or (other.size > 0) == (held.size > 0):
            raise Reverted(liquidation.NOT_OPPOSITE)
        amount = min(abs(held.size), abs(other.size))
        loss = div_ceil(deficit * amount, abs(held.size))
        sign = 1 if held.size > 0 else -1
        cash = sign * amount * self.price // units().size_scale + loss
        self._move(trader, -sign * amount, cash)
        self._move(counterparty, sign * amount, -cash)
        self.sent.append(("deleverage", counterparty))
        self.block += 1
        return Step(self.block, b"")

    def _move(self, trader: Address, delta: int, cash: int) -> None:
        held = self.accounts_.setdefault(trader, Holding(0))
        held.size += delta
        held.quote += cash
        if held.size == 0:
            held.collateral += held.quote
            held.quote = 0
