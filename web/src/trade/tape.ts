// The chosen market's trades: the newest from the API, then the gateway's trades stream.
import { type Trade, getJson } from "../api";
import { h, time } from "../dom";
import type { Frame } from "../gateway";
import { big } from "../json";
import { shown } from "../units";
import { type App, price, size } from "./app";

const SHOWN = 40;

export class Tape {
  constructor(private readonly app: App) {}

  async load(): Promise<void> {
    const market = this.app.market;
    const trades = await getJson<Trade[]>(`/markets/${market.symbol}/trades?limit=${SHOWN}`);
    if (market !== this.app.market) return;
    document.getElementById("tape")!.replaceChildren(...trades.map((t) => this.row(t)));
  }

  /** A ``trade`` frame of the chosen market: its row on top; the numbers for the chart. */
  frame(frame: Frame): { time: number; price: number; size: number } | null {
    if (frame.market !== this.app.market.id) return null;
    const trade: Trade = {
      seq: Number(frame.seq),
      time: Number(frame.time),
      price: price(this.app, big(frame.price)),
      size: size(this.app, big(frame.size)),
      side: frame.takerIsBuy ? "buy" : "sell",
    };
    const body = document.getElementById("tape")!;
    body.prepend(this.row(trade));
    while (body.children.length > SHOWN) body.lastElementChild!.remove();
    return { time: trade.time, price: Number(trade.price), size: Number(trade.size) };
  }

  private row(trade: Trade): HTMLTableRowElement {
    return h("tr", { class: trade.side },
      h("td", { class: "price" }, trade.price), h("td", {}, shown(trade.size, 6)), h("td", {}, time(trade.time)));
  }
}
