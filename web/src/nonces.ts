// Order and login nonces of the page, unique per trader for the life of the Exchange
// (the contract keeps fill state by nonce; perpdex.sdk.nonces explains why). The page
// starts at the SDK's clock seed, unix seconds << 20, and keeps a high-water mark per
// (chain, Exchange, trader) in localStorage, so a reload never reuses a nonce. A wallet
// used by the page and an SDK process at the same time may collide: use one at a time.
import type { Address } from "viem";

const CLOCK_SHIFT = 20n;

export class Nonces {
  private readonly key: string;

  constructor(chainId: number, exchange: Address, trader: Address) {
    this.key = `perpdex.nonce.${chainId}.${exchange.toLowerCase()}.${trader.toLowerCase()}`;
  }

  next(): bigint {
    const seed = BigInt(Math.floor(Date.now() / 1000)) << CLOCK_SHIFT;
    const stored = localStorage.getItem(this.key);
    const mark = stored === null ? 0n : BigInt(stored);
    const nonce = mark > seed ? mark : seed;
    localStorage.setItem(this.key, (nonce + 1n).toString());
    return nonce;
  }
}
