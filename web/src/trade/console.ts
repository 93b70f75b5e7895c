// window.perpdex: the page's signing path, for the browser console and the browser tests
// (tests/browser/test_digest.py compares what it signs with the SDK).
import type { Address } from "viem";
import type { PageConfig } from "../config";
import { type DemoWallet, Wallet } from "../chain";
import { type OrderTerms, buildOrder, digest } from "../eip712";

export interface OrderPreview {
  order: Record<string, string | number | boolean>;
  digest: string;
  signature: string | null;
}

export function exposeConsole(config: PageConfig): void {
  /** The order of ``terms``, its digest, and its signature by ``signer`` if given: a demo
   * wallet, or "injected" for window.ethereum (eth_signTypedData_v4). */
  const preview = async (
    trader: Address, terms: OrderTerms, nonce: string, expiry: string, signer?: DemoWallet | "injected",
  ): Promise<OrderPreview> => {
    const order = buildOrder(config, trader, terms, BigInt(nonce), BigInt(expiry));
    const wallet = signer === "injected" ? await Wallet.injected(config, window.ethereum!) : signer && Wallet.demo(config, signer);
    const signature = wallet ? await wallet.sign(config, "Order", order) : null;
    const shown = Object.fromEntries(
      Object.entries(order).map(([k, v]) => [k, typeof v === "bigint" ? v.toString() : (v as string | number | boolean)]),
    );
    return { order: shown, digest: digest(config, "Order", order), signature };
  };
  Object.assign(window, { perpdex: { config, preview } });
}
