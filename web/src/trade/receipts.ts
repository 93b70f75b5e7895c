// The operator's signed receipts of the trader's orders (docs/protocol.md, "Receipts"):
// each checked as perpdex.sdk.receipts checks it (the order was acknowledged here, at that
// seq, and the Checkpoints contract's operator() signed it), counted, and offered as a
// download: a JSON array of perpdex.receipts.store's receipt files, what
// `perpdex receipts --json` prints and `perpdex audit --receipts DIR` reads.
import { type Address, type Hex, isAddressEqual } from "viem";
import { byId } from "../dom";
import { receiptSigner } from "../eip712";
import type { Frame } from "../gateway";
import { big, toJson } from "../json";
import type { App } from "./app";

/** perpdex.receipts.wire.WireReceipt: integers as the gateway sent them. */
interface WireReceipt {
  orderHash: Hex;
  shard: number | bigint;
  seq: number | bigint;
  head: Hex;
  time: number | bigint;
  signature: Hex;
}

/** perpdex.receipts.store.StoredReceipt: a receipt with its domain and signer. */
interface StoredReceipt {
  chainId: number;
  verifyingContract: Address;
  signer: Address;
  receipt: WireReceipt;
}

const REVOKE_AFTER_MS = 60_000;

interface Acked {
  trader: Address;
  seq: bigint;
}

export class Receipts {
  /** Acknowledged orders whose receipt is awaited, by order hash (lower case). */
  private readonly awaited = new Map<string, Acked>();
  /** Good receipts by trader (lower case), in arrival order. */
  private readonly kept = new Map<string, StoredReceipt[]>();
  private readonly bad: string[] = [];
  private operator: Promise<Address> | null = null;
  private checked = true;
  private readonly button = byId<HTMLButtonElement>("download-receipts");

  constructor(private readonly app: App) {
    this.button.onclick = () => this.download();
    this.draw();
  }

  /** A ``placed`` or ``amended`` frame that promises a receipt, on the trader's connection. */
  acked(frame: Frame): void {
    const trader = this.app.wallet?.address;
    if (trader && frame.receipt === true) this.awaited.set(String(frame.orderHash).toLowerCase(), { trader, seq: big(frame.seq) });
  }

  async frame(frame: Frame): Promise<void> {
    const wire = frame.receipt as WireReceipt;
    const key = wire.orderHash.toLowerCase();
    const acked = this.awaited.get(key);
    try {
      if (!acked) throw new Error("no order acknowledged here has this hash");
      if (acked.seq !== big(wire.seq)) throw new Error(`seq ${wire.seq}, but the order was acknowledged at seq ${acked.seq}`);
      const message = { orderHash: wire.orderHash, shard: Number(wire.shard), seq: big(wire.seq), head: wire.head, time: big(wire.time) };
      const signer = await receiptSigner(this.app.config, message, wire.signature);
      const operator = await this.readOperator();
      if (operator === null) this.checked = false; // no chain access: `perpdex audit` checks the signer
      else if (!isAddressEqual(signer, operator)) throw new Error(`signed by ${signer}, not by the operator ${operator}`);
      this.awaited.delete(key);
      const { chainId, checkpoints } = this.app.config;
      const mine = this.kept.get(acked.trader.toLowerCase()) ?? [];
      mine.push({ chainId, verifyingContract: checkpoints, signer, receipt: wire });
      this.kept.set(acked.trader.toLowerCase(), mine);
    } catch (error) {
      // evidence that the gateway misbehaved: said, not kept (as the SDK's BadReceiptError)
      this.bad.push(`receipt of order ${wire.orderHash}: ${(error as Error).message}`);
      console.warn(this.bad.at(-1));
    }
    this.draw();
  }

  /** The wallet changed: show its receipts. */
  draw(): void {
    const mine = this.mine();
    const n = mine.length;
    const count = n === 0 ? "no receipts yet" : `${n} receipt${n === 1 ? "" : "s"} signed by ${this.checked ? "the operator" : "a key not yet checked against the operator"}`;
    const bad = this.bad.length ? ` · ${this.bad.length} bad (not kept; see the console)` : "";
    const element = byId("receipts-count");
    element.textContent = count + bad;
    element.dataset.count = String(n);
    this.button.disabled = n === 0;
  }

  private mine(): StoredReceipt[] {
    const trader = this.app.wallet?.address;
    return (trader && this.kept.get(trader.toLowerCase())) || [];
  }

  /** The Checkpoints contract's operator(), read once; null while the chain is unreadable. */
  private async readOperator(): Promise<Address | null> {
    const { config, reader } = this.app;
    this.operator ??= reader.readContract({ address: config.checkpoints, abi: config.abi.checkpoints, functionName: "operator" }) as Promise<Address>;
    try {
      return await this.operator;
    } catch {
      this.operator = null; // read again at the next receipt
      return null;
    }
  }

  private download(): void {
    const trader = this.app.wallet?.address;
    if (!trader) return;
    const { chainId, checkpoints } = this.app.config;
    const blob = new Blob([toJson(this.mine())], { type: "application/json" });
    const link = document.createElement("a");
    link.href = URL.createObjectURL(blob);
    link.download = `receipts-${chainId}-${checkpoints}-${trader}.json`;
    link.click();
    setTimeout(() => URL.revokeObjectURL(link.href), REVOKE_AFTER_MS); // once the download took it
  }
}
