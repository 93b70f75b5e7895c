// GET /config (perpdex.webapp.page_config): the deployment as the pages see it.
import type { Abi, Address, TypedDataDomain } from "viem";
import { parseJson } from "./json";

export interface TypedField {
  name: string;
  type: string;
}

export interface MarketConfig {
  id: number;
  symbol: string;
  tickSize: bigint;
  lotSize: bigint;
  maxLeverage: number;
  initialMarginPpm: number;
  maintenanceMarginPpm: number;
  makerFeePpm: number;
  takerFeePpm: number;
}

export interface PageConfig {
  chainId: number;
  /** The chain's JSON-RPC URL, on a local-only deployment only (see chain.ts). */
  rpcUrl: string | null;
  gatewayUrl: string | null;
  localOnly: boolean;
  startBlock: number;
  exchange: Address;
  collateral: Address;
  checkpoints: Address;
  /** ``receiptDomain``: the Checkpoints contract's, in which the operator signs receipts. */
  eip712: { domain: TypedDataDomain; receiptDomain: TypedDataDomain; types: Record<string, TypedField[]> };
  units: { sizeDecimals: number; priceDecimals: number; collateralDecimals: number; fractionScale: number };
  markets: MarketConfig[];
  abi: { exchange: Abi; collateral: Abi; checkpoints: Abi };
}

export async function loadConfig(): Promise<PageConfig> {
  const response = await fetch("/config");
  if (!response.ok) throw new Error(`/config: HTTP ${response.status}`);
  const config = parseJson(await response.text()) as PageConfig;
  for (const market of config.markets) {
    market.tickSize = BigInt(market.tickSize);
    market.lotSize = BigInt(market.lotSize);
  }
  return config;
}

export function marketById(config: PageConfig, id: number): MarketConfig {
  const market = config.markets.find((m) => m.id === id);
  if (!market) throw new Error(`no market ${id}`);
  return market;
}
