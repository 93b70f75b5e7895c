// The chosen market's order book from the gateway's book stream: a snapshot, then one
// update per command with the new total of each changed level (0: gone). A gap in the
// market's seq means a lost frame: subscribe again for a fresh snapshot.
import { fillRows, h } from "../dom";
import type { Frame } from "../gateway";
import { big } from "../json";
import { type App, price, size } from "./app";

const DEPTH = 12;

type Side = Map<bigint, bigint>;

export class Book {
  private bids: Side = new Map();
  private asks: Side = new Map();
  private seq = -1;
  private drawing = false;

  constructor(
    private readonly app: App,
    private readonly resubscribe: () => void,
    private readonly pick: (price: string) => void,
  ) {}

  clear(): void {
    this.bids = new Map();
    this.asks = new Map();
    this.seq = -1;
    this.draw();
  }

  /** Best ask (buy: true) or best bid (buy: false), in price units. */
  best(buy: boolean): bigint | null {
    const prices = [...(buy ? this.asks : this.bids).keys()];
    if (!prices.length) return null;
    return prices.reduce((a, b) => (buy ? (b < a ? b : a) : (b > a ? b : a)));
  }

  frame(frame: Frame): void {
    if (frame.market !== this.app.market.id) return;
    const seq = Number(frame.seq);
    if (frame.type === "book") {
      this.bids = levels(frame.bids);
      this.asks = levels(frame.asks);
    } else {
      if (this.seq < 0) return; // before the snapshot
      if (seq !== this.seq + 1) {
        this.seq = -1;
        this.resubscribe();
        return;
      }
      apply(this.bids, frame.bids);
      apply(this.asks, frame.asks);
    }
    this.seq = seq;
    if (!this.drawing) {
      this.drawing = true;
      requestAnimationFrame(() => {
        this.drawing = false;
        this.draw();
      });
    }
  }

  private draw(): void {
    const asks = [...this.asks].sort(([a], [b]) => (a < b ? -1 : 1)).slice(0, DEPTH);
    const bids = [...this.bids].sort(([a], [b]) => (a > b ? -1 : 1)).slice(0, DEPTH);
    const total = (side: [bigint, bigint][]) => side.reduce((sum, [, s]) => sum + s, 0n);
    const deepest = Number(total(asks) > total(bids) ? total(asks) : total(bids)) || 1;
    const rows = (side: [bigint, bigint][], kind: "ask" | "bid") => {
      let cumulative = 0n;
      return side.map(([p, s]) => {
        cumulative += s;
        const depth = `${(100 * Number(cumulative)) / deepest}%`;
        const row = h("tr", { class: kind, "data-price": price(this.app, p) },
          h("td", { class: "price" }, price(this.app, p)), h("td", {}, size(this.app, s)), h("td", {}, size(this.app, cumulative)));
        row.style.setProperty("--depth", depth);
        row.onclick = () => this.pick(price(this.app, p));
        return row;
      });
    };
    fillRows(document.getElementById("asks") as HTMLTableSectionElement, rows(asks, "ask").reverse(), "no asks", 3);
    fillRows(document.getElementById("bids") as HTMLTableSectionElement, rows(bids, "bid"), "no bids", 3);
    const ask = asks[0]?.[0];
    const bid = bids[0]?.[0];
    document.getElementById("spread")!.textContent =
      ask !== undefined && bid !== undefined ? `spread ${price(this.app, ask - bid)}` : "—";
  }
}

function levels(list: unknown): Side {
  return new Map((list as unknown[][]).map(([p, s]) => [big(p), big(s)]));
}

function apply(side: Side, changes: unknown): void {
  for (const [p, s] of changes as unknown[][]) {
    const total = big(s);
    if (total === 0n) side.delete(big(p));
    else side.set(big(p), total);
  }
}
