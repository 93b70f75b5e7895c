// What every panel of the trading page shares: the configuration, the chosen market and
// wallet, the gateway connection, and the chain reader.
import type { PublicClient } from "viem";
import type { Wallet } from "../chain";
import type { MarketConfig, PageConfig } from "../config";
import type { Gateway } from "../gateway";
import type { Nonces } from "../nonces";
import { fromUnits } from "../units";

export interface App {
  readonly config: PageConfig;
  readonly reader: PublicClient;
  readonly gateway: Gateway;
  market: MarketConfig;
  wallet: Wallet | null;
  nonces: Nonces | null;
  loggedIn: boolean;
}

export const price = (app: App, units: bigint): string => fromUnits(units, app.config.units.priceDecimals);
export const size = (app: App, units: bigint): string => fromUnits(units, app.config.units.sizeDecimals);
export const usdc = (app: App, units: bigint): string => fromUnits(units, app.config.units.collateralDecimals);

/** Unix seconds ``ahead`` from now, as the signed uint64 fields take them. */
export const secondsFromNow = (ahead: number): bigint => BigInt(Math.floor(Date.now() / 1000) + ahead);

/** "BTC" of "BTC-PERP". */
export const baseAsset = (market: MarketConfig): string => market.symbol.split("-")[0] ?? market.symbol;

/** Decimals a price of ``market`` shows: those of its tick. */
export function priceDecimals(app: App, market: MarketConfig): number {
  const tick = fromUnits(market.tickSize, app.config.units.priceDecimals);
  return tick.includes(".") ? tick.split(".")[1]!.length : 0;
}
