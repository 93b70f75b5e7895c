// The order ticket: the trader's terms -> a signed Order -> ``place``. A market order is
// an IOC whose limit is the best opposite price moved by the slippage (rounded to the
// tick away from it, as perpdex.core.slippage.worst_price does).
import { byId, say } from "../dom";
import { type OrderTerms, type TimeInForce, type TriggerDirection, buildOrder } from "../eip712";
import { GatewayError } from "../gateway";
import { AmountError, shown } from "../units";
import { big } from "../json";
import { type App, baseAsset, price, secondsFromNow, size } from "./app";
import type { Book } from "./book";

const MARKET_SLIPPAGE_PPM = 50_000n; // 5%
const ORDER_TTL_S = 86_400; // the SDK's DEFAULT_ORDER_TTL_S

export class Ticket {
  private readonly form = byId<HTMLFormElement>("ticket");
  private readonly status = byId("ticket-status");

  constructor(
    private readonly app: App,
    private readonly book: Book,
    private readonly placed: () => void,
  ) {
    this.form.addEventListener("input", () => this.sync());
    this.form.addEventListener("submit", (event) => {
      event.preventDefault();
      void this.submit();
    });
    byId("set-leverage").onclick = () => void this.setLeverage();
    this.sync();
  }

  /** A price picked in the book. */
  pick(text: string): void {
    this.input("price").value = text;
    this.sync();
  }

  marketChanged(): void {
    byId("base-asset").textContent = baseAsset(this.app.market);
    this.showLeverage().catch((error: Error) => say(this.status, error.message, "error"));
  }

  async showLeverage(): Promise<void> {
    const input = this.input("leverage");
    input.value = "";
    input.placeholder = `max ${this.app.market.maxLeverage}`;
    if (!this.app.loggedIn) return;
    const frame = await this.app.gateway.request({ op: "get_leverage", market: this.app.market.id });
    input.placeholder = `${shown(String(frame.leverage), 2)}x${frame.chosen ? "" : " max"}`;
  }

  private async setLeverage(): Promise<void> {
    try {
      const frame = await this.app.gateway.request({ op: "set_leverage", market: this.app.market.id, leverage: this.input("leverage").value.trim() });
      say(this.status, `leverage ${frame.leverage}x in ${this.app.market.symbol}`);
      await this.showLeverage();
    } catch (error) {
      say(this.status, (error as Error).message, "error");
    }
  }

  private value(name: string): string {
    const checked = this.form.querySelector<HTMLInputElement>(`input[name=${name}]:checked`);
    return checked ? checked.value : this.input(name).value;
  }

  private input(name: string): HTMLInputElement {
    return this.form.elements.namedItem(name) as HTMLInputElement;
  }

  private sync(): void {
    const buy = this.value("side") === "buy";
    const market = this.value("kind") === "market";
    const submit = byId<HTMLButtonElement>("submit");
    submit.textContent = `${buy ? "Buy / Long" : "Sell / Short"}${market ? " at market" : ""}`;
    submit.className = buy ? "buy" : "sell";
    byId("price-field").hidden = market;
    this.input("postOnly").disabled = market || this.input("ioc").checked;
    this.input("ioc").disabled = market || this.input("postOnly").checked;
    this.input("triggerPrice").disabled = this.input("trigger").value === "none";
    const fee = Math.max(this.app.market.makerFeePpm, this.app.market.takerFeePpm);
    byId("ticket-summary").textContent = `fee cap ${fee / 10_000}% of notional · expires in 24 h`;
  }

  private terms(): OrderTerms {
    const buy = this.value("side") === "buy";
    const market = this.value("kind") === "market";
    const timeInForce: TimeInForce = market || this.input("ioc").checked ? "ioc" : this.input("postOnly").checked ? "post_only" : "gtc";
    return {
      market: this.app.market.id,
      side: buy ? "buy" : "sell",
      size: this.input("size").value.trim(),
      price: market ? this.marketLimit(buy) : this.input("price").value.trim(),
      timeInForce,
      reduceOnly: this.input("reduceOnly").checked,
      marginMode: this.input("marginMode").value as "cross" | "isolated",
      trigger: this.input("trigger").value as TriggerDirection,
      triggerPrice: this.input("triggerPrice").value.trim(),
    };
  }

  private marketLimit(buy: boolean): string {
    const best = this.book.best(buy);
    if (best === null) throw new AmountError(`no ${buy ? "asks" : "bids"} in the book: a market order cannot fill`);
    const tick = this.app.market.tickSize;
    const scale = 1_000_000n;
    const limit = buy
      ? ((best * (scale + MARKET_SLIPPAGE_PPM) + scale - 1n) / scale + tick - 1n) / tick * tick
      : (best * (scale - MARKET_SLIPPAGE_PPM)) / scale / tick * tick;
    return price(this.app, limit);
  }

  private async submit(): Promise<void> {
    const { app } = this;
    if (!app.wallet || !app.nonces || !app.loggedIn) {
      say(this.status, "choose a wallet first", "error");
      return;
    }
    try {
      const order = buildOrder(app.config, app.wallet.address, this.terms(), app.nonces.next(), secondsFromNow(ORDER_TTL_S));
      say(this.status, "signing…", "busy");
      const signature = await app.wallet.sign(app.config, "Order", order);
      const placed = await app.gateway.request({ op: "place", order, signature });
      const held = order.triggerDirection ? " (held until its trigger)" : "";
      say(this.status, `placed #${placed.orderId}: ${order.isBuy ? "buy" : "sell"} ${size(app, big(placed.size))} ${app.market.symbol}${held}`);
      this.placed();
    } catch (error) {
      const known = error instanceof AmountError || error instanceof GatewayError;
      say(this.status, known ? (error as Error).message : `failed: ${(error as Error).message}`, "error");
    }
  }
}
