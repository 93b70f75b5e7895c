// The messages the page signs, with the types and domain /config serves from
// perpdex.core.eip712 (one definition): an order signed here is byte for byte the order
// the SDK signs for the same terms (tests/browser/test_digest.py compares digests).
import { type Address, type Hex, hashTypedData, recoverAddress, zeroAddress } from "viem";
import type { MarketConfig, PageConfig } from "./config";
import { AmountError, fromUnits, onGrid, toUnits } from "./units";

export type PrimaryType = "Order" | "Cancel" | "Login";

/** perpdex.core.eip712.messages: the position in each tuple is the signed code. */
export const MARGIN_MODES = ["cross", "isolated"] as const;
export const TIMES_IN_FORCE = ["gtc", "ioc", "fok", "post_only"] as const;
export const TRIGGER_DIRECTIONS = ["none", "above", "below"] as const;

export type MarginMode = (typeof MARGIN_MODES)[number];
export type TimeInForce = (typeof TIMES_IN_FORCE)[number];
export type TriggerDirection = (typeof TRIGGER_DIRECTIONS)[number];

export interface OrderMessage {
  trader: Address;
  market: number;
  isBuy: boolean;
  size: bigint;
  limitPrice: bigint;
  maxFeePpm: number;
  marginMode: number;
  timeInForce: number;
  reduceOnly: boolean;
  expiry: bigint;
  nonce: bigint;
  triggerPrice: bigint;
  triggerDirection: number;
}

export interface CancelMessage {
  trader: Address;
  orderHash: Hex;
  expiry: bigint;
}

export interface LoginMessage {
  trader: Address;
  sessionKey: Address;
  expiry: bigint;
  nonce: bigint;
}

/** What a trader fills in the ticket; amounts as typed (decimals of base asset and USD). */
export interface OrderTerms {
  market: number;
  side: "buy" | "sell";
  size: string;
  price: string;
  timeInForce: TimeInForce;
  reduceOnly: boolean;
  marginMode: MarginMode;
  trigger: TriggerDirection;
  triggerPrice: string;
  /** Default: the market's higher fee, as the SDK signs it. */
  maxFeePpm?: number;
}

export function sizeUnits(config: PageConfig, market: MarketConfig, text: string): bigint {
  const lot = fromUnits(market.lotSize, config.units.sizeDecimals);
  return onGrid(toUnits(text, config.units.sizeDecimals, "size"), market.lotSize, "size", `${market.symbol}'s lot ${lot}`);
}

export function priceUnits(config: PageConfig, market: MarketConfig, text: string, what = "price"): bigint {
  const tick = fromUnits(market.tickSize, config.units.priceDecimals);
  return onGrid(toUnits(text, config.units.priceDecimals, what), market.tickSize, what, `${market.symbol}'s tick ${tick}`);
}

/** The signed order of ``terms`` (perpdex.sdk.client's _place_request, field by field). */
export function buildOrder(
  config: PageConfig,
  trader: Address,
  terms: OrderTerms,
  nonce: bigint,
  expiry: bigint,
): OrderMessage {
  const market = config.markets.find((m) => m.id === terms.market);
  if (!market) throw new AmountError(`no market ${terms.market}`);
  const triggered = terms.trigger !== "none";
  return {
    trader,
    market: market.id,
    isBuy: terms.side === "buy",
    size: sizeUnits(config, market, terms.size),
    limitPrice: priceUnits(config, market, terms.price),
    maxFeePpm: terms.maxFeePpm ?? Math.max(market.makerFeePpm, market.takerFeePpm),
    marginMode: MARGIN_MODES.indexOf(terms.marginMode),
    timeInForce: TIMES_IN_FORCE.indexOf(terms.timeInForce),
    reduceOnly: terms.reduceOnly,
    expiry,
    nonce,
    triggerPrice: triggered ? priceUnits(config, market, terms.triggerPrice, "trigger price") : 0n,
    triggerDirection: TRIGGER_DIRECTIONS.indexOf(terms.trigger),
  };
}

export function loginMessage(trader: Address, expiry: bigint, nonce: bigint): LoginMessage {
  return { trader, sessionKey: zeroAddress, expiry, nonce };
}

/** The typed data a wallet signs (eth_signTypedData_v4's argument, as viem takes it):
 * the domain's and the primary type's fields only, as perpdex.core.eip712's
 * ``Eip712Domain.full_message`` (a wallet may refuse types the message does not use). */
export function typedData(config: PageConfig, primaryType: PrimaryType, message: OrderMessage | CancelMessage | LoginMessage) {
  const types = config.eip712.types;
  return {
    domain: config.eip712.domain,
    types: { EIP712Domain: types.EIP712Domain!, [primaryType]: types[primaryType]! },
    primaryType,
    message: message as unknown as Record<string, unknown>,
  };
}

/** keccak256(0x1901 || domainSeparator || hashStruct(message)): the order hash. */
export function digest(config: PageConfig, primaryType: PrimaryType, message: OrderMessage | CancelMessage | LoginMessage): Hex {
  return hashTypedData(typedData(config, primaryType, message));
}


/** ``Receipt(orderHash, shard, seq, head, time)``: the operator's word that an order is
 * entry ``seq`` of engine shard ``shard``'s journal (docs/protocol.md, "Receipts"). */
export interface ReceiptMessage {
  orderHash: Hex;
  shard: number;
  seq: bigint;
  head: Hex;
  time: bigint;
}

/** Who signed ``receipt``, in the Checkpoints contract's domain (as perpdex.receipts). */
export function receiptSigner(config: PageConfig, receipt: ReceiptMessage, signature: Hex): Promise<Address> {
  const types = config.eip712.types;
  const primaryType: string = "Receipt"; // a string, as typedData's: the types come from /config
  const typed = {
    domain: config.eip712.receiptDomain,
    types: { EIP712Domain: types.EIP712Domain!, [primaryType]: types[primaryType]! },
    primaryType,
    message: receipt as unknown as Record<string, unknown>,
  };
  return recoverAddress({ hash: hashTypedData(typed), signature });
}
