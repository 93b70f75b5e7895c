// The HTTP API's reads (perpdex.http: amounts are decimal strings a person reads).
import { parseJson } from "./json";

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(`${code}: ${message}`);
  }
}

export async function getJson<T>(path: string): Promise<T> {
  const response = await fetch(path, { headers: { Accept: "application/json" } });
  const body = parseJson(await response.text()) as T & { code?: string; message?: string };
  if (!response.ok) throw new ApiError(response.status, body.code ?? "http", body.message ?? response.statusText);
  return body;
}

export async function getText(path: string): Promise<string> {
  const response = await fetch(path);
  if (!response.ok) throw new ApiError(response.status, "http", response.statusText);
  return response.text();
}

export interface Market {
  id: number;
  symbol: string;
  tickSize: string;
  lotSize: string;
  makerFee: string;
  takerFee: string;
  maxLeverage: number | null;
  indexPrice: string | null;
  markPrice: string | null;
  markPriceFresh: boolean | null;
  fundingRate: string | null;
  fundingIntervalS: number | null;
  nextFundingTime: number | null;
  openInterest: string;
  volume24h: string;
}

export interface Candle {
  start: number;
  open: string;
  high: string;
  low: string;
  close: string;
  volume: string;
  trades: number;
}

export interface Trade {
  seq: number;
  time: number;
  price: string;
  size: string;
  side: "buy" | "sell";
}

export interface Position {
  market: string;
  size: string;
  marginMode: "cross" | "isolated";
  isolatedMargin: string;
  entryPrice: string | null;
  feesPaid: string | null;
  markPrice: string | null;
  unrealisedPnl: string | null;
  marginRatio: string | null;
  liquidationPrice: string | null;
  leverage: string;
}

export interface OpenOrder {
  market: string;
  orderId: number;
  orderHash: `0x${string}`;
  clientId: string | null;
  side: "buy" | "sell";
  price: string;
  size: string;
  remaining: string;
  reduceOnly: boolean;
  triggerPrice: string | null;
  triggerDirection: number;
}

export interface Account {
  trader: string;
  collateral: string | null;
  equity: string | null;
  initialMargin: string | null;
  maintenanceMargin: string | null;
  positions: Position[];
  openOrders: OpenOrder[];
}

export interface Fill {
  type: "fill";
  seq: number;
  accountSeq: number;
  market: string;
  orderId: number;
  orderHash: string;
  side: "buy" | "sell";
  price: string;
  size: string;
  maker: boolean;
}

export interface EventsPage<T> {
  events: T[];
  next: number | null;
}
