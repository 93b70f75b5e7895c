// The wallet's account: positions (with liquidation price), open orders (with cancel)
// and fills, read from the API after each event of the account stream (and every few
// seconds: marks move).
import { type Account, type EventsPage, type Fill, type OpenOrder, getJson } from "../api";
import { fillRows, h, say, shortHex } from "../dom";
import { shown } from "../units";
import { type App, secondsFromNow } from "./app";

const CANCEL_TTL_S = 60;
const FILLS_SHOWN = 100;
const TRIGGERS = ["", "≥", "≤"];

export class AccountView {
  private fills: Fill[] = [];
  private after = 0;
  private refreshing: Promise<void> | null = null;
  account: Account | null = null;

  constructor(
    private readonly app: App,
    private readonly status: HTMLElement,
    private readonly changed: (account: Account) => void,
  ) {
    for (const tab of document.querySelectorAll<HTMLButtonElement>(".tab")) {
      tab.onclick = () => {
        for (const other of document.querySelectorAll<HTMLButtonElement>(".tab")) {
          other.setAttribute("aria-selected", String(other === tab));
          document.getElementById(`tab-${other.dataset.tab}`)!.hidden = other !== tab;
        }
      };
    }
  }

  walletChanged(): Promise<void> {
    this.fills = [];
    this.after = 0;
    this.account = null;
    return this.refresh();
  }

  /** Read again; calls that arrive while a read runs share the next one. */
  refresh(): Promise<void> {
    this.refreshing ??= this.read().finally(() => (this.refreshing = null));
    return this.refreshing;
  }

  private async read(): Promise<void> {
    const wallet = this.app.wallet;
    if (!wallet) return this.draw();
    const account = await getJson<Account>(`/accounts/${wallet.address}`);
    for (;;) {
      const page = await getJson<EventsPage<Fill>>(`/accounts/${wallet.address}/fills?after=${this.after}&limit=1000`);
      this.fills.push(...page.events);
      this.after = page.events.at(-1)?.accountSeq ?? this.after;
      if (page.next === null) break;
    }
    if (wallet !== this.app.wallet) return;
    this.fills = this.fills.slice(-FILLS_SHOWN);
    this.account = account;
    this.changed(account);
    this.draw();
  }

  private draw(): void {
    const account = this.account;
    fillRows(document.getElementById("positions") as HTMLTableSectionElement,
      (account?.positions ?? []).map((p) => {
        const pnl = p.unrealisedPnl === null ? null : Number(p.unrealisedPnl);
        return h("tr", { "data-market": p.market },
          h("td", {}, p.market),
          h("td", { class: `size ${p.size.startsWith("-") ? "sell" : "buy"}` }, p.size),
          h("td", {}, p.marginMode),
          h("td", { class: "isolated-margin" }, p.marginMode === "isolated" ? p.isolatedMargin : ""),
          h("td", { class: "entry" }, shown(p.entryPrice, 2)),
          h("td", {}, shown(p.markPrice, 2)),
          h("td", { class: "liquidation" }, p.liquidationPrice ?? "—"),
          h("td", { class: pnl === null ? "" : pnl >= 0 ? "buy" : "sell" }, shown(p.unrealisedPnl, 2)),
          h("td", {}, p.marginRatio ?? "—"),
          h("td", {}, `${p.leverage}x`));
      }), this.app.wallet ? "no positions" : "choose a wallet", 10);
    fillRows(document.getElementById("orders") as HTMLTableSectionElement,
      (account?.openOrders ?? []).map((o) => this.orderRow(o)), this.app.wallet ? "no open orders" : "choose a wallet", 8);
    fillRows(document.getElementById("fills") as HTMLTableSectionElement,
      [...this.fills].reverse().map((f) => h("tr", { "data-order-hash": f.orderHash },
        h("td", {}, f.accountSeq), h("td", {}, f.market), h("td", { class: f.side }, f.side), h("td", {}, f.price),
        h("td", {}, f.size), h("td", {}, f.maker ? "maker" : "taker"), h("td", { title: f.orderHash }, shortHex(f.orderHash)))),
      this.app.wallet ? "no fills" : "choose a wallet", 7);
  }

  private orderRow(order: OpenOrder): HTMLTableRowElement {
    const cancel = h("button", { type: "button", class: "cancel", "data-testid": "cancel" }, "Cancel");
    cancel.onclick = () => void this.cancel(order, cancel);
    const flags = [order.reduceOnly ? "reduce-only" : "", order.clientId ?? ""].filter(Boolean).join(" ");
    return h("tr", { "data-order-hash": order.orderHash, "data-market": order.market },
      h("td", {}, order.market), h("td", { class: order.side }, order.side), h("td", { class: "price" }, order.price),
      h("td", {}, order.size), h("td", { class: "remaining" }, order.remaining),
      h("td", {}, order.triggerPrice ? `${TRIGGERS[order.triggerDirection]} ${order.triggerPrice}` : ""),
      h("td", {}, flags), h("td", {}, cancel));
  }

  private async cancel(order: OpenOrder, button: HTMLButtonElement): Promise<void> {
    const { app } = this;
    if (!app.wallet) return;
    button.disabled = true;
    try {
      const cancel = { trader: app.wallet.address, orderHash: order.orderHash, expiry: secondsFromNow(CANCEL_TTL_S) };
      const signature = await app.wallet.sign(app.config, "Cancel", cancel);
      await app.gateway.request({ op: "cancel", cancel, signature });
      say(this.status, `cancelled order #${order.orderId}`);
      await this.refresh();
    } catch (error) {
      button.disabled = false;
      say(this.status, (error as Error).message, "error");
    }
  }
}
