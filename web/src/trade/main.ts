// The trading page: wiring of its panels (docs/web.md).
import { readClient } from "../chain";
import { type PageConfig, loadConfig, marketById } from "../config";
import { byId, h, say } from "../dom";
import { Gateway, type Frame } from "../gateway";
import { AccountView } from "./account";
import type { App } from "./app";
import { Book } from "./book";
import { Receipts } from "./receipts";
import { CandleChart } from "./chart";
import { exposeConsole } from "./console";
import { Funds } from "./funds";
import { Header } from "./header";
import { Session } from "./session";
import { Tape } from "./tape";
import { Ticket } from "./ticket";

const ACCOUNT_EVENTS = new Set(["fill", "fill_rejected", "order", "account"]);
const POLL_MS = 3000;

/** Show what failed in the background (a read, a request) instead of losing it. */
function background(work: Promise<unknown>): void {
  work.catch((error: Error) => say(byId("ticket-status"), error.message, "error"));
}

function start(config: PageConfig, gatewayUrl: string): void {
  const gatewayStatus = byId("gateway-status");
  const app: App = {
    config,
    reader: readClient(config),
    gateway: new Gateway(gatewayUrl, (frame) => route(frame), () => connected(), (status) => {
      gatewayStatus.textContent = status === "open" ? "live" : status;
      gatewayStatus.dataset.kind = status;
      if (status !== "open") app.loggedIn = false;
    }),
    market: config.markets[0]!,
    wallet: null,
    nonces: null,
    loggedIn: false,
  };
  // a lost book frame: subscribing again sends a fresh snapshot (trades need nothing)
  const resubscribeBook = () => background(app.gateway.request({ op: "subscribe", channel: "book", market: app.market.id }));
  const book = new Book(app, resubscribeBook, (price) => ticket.pick(price));
  const ticket = new Ticket(app, book, () => background(account.refresh()));
  const chart = new CandleChart(app);
  const tape = new Tape(app);
  const header = new Header(app, (id) => background(chooseMarket(id)));
  const funds = new Funds(app, () => background(account.refresh()));
  const account = new AccountView(app, byId("ticket-status"), (a) => funds.accountChanged(a));
  const receipts = new Receipts(app);
  const session = new Session(app, () => {
    receipts.draw();
    background(account.walletChanged());
    background(funds.walletChanged());
    background(ticket.showLeverage());
  }, byId("ticket-status"));

  function route(frame: Frame): void {
    if (frame.type === "book" || frame.type === "book_update") book.frame(frame);
    else if (frame.type === "trade") {
      const trade = tape.frame(frame);
      if (trade) chart.trade(trade.time, trade.price, trade.size);
    } else if (frame.type === "placed" || frame.type === "amended") receipts.acked(frame);
    else if (frame.type === "receipt") background(receipts.frame(frame));
    else if (ACCOUNT_EVENTS.has(frame.type)) background(account.refresh());
  }

  async function subscribeMarket(): Promise<void> {
    const market = app.market.id;
    await app.gateway.request({ op: "subscribe", channel: "book", market });
    await app.gateway.request({ op: "subscribe", channel: "trades", market });
  }

  async function connected(): Promise<void> {
    book.clear();
    await subscribeMarket();
    await session.login();
    await ticket.showLeverage();
  }

  async function chooseMarket(id: number): Promise<void> {
    const previous = app.market.id;
    app.market = marketById(config, id);
    book.clear();
    ticket.marketChanged();
    funds.marketChanged();
    await Promise.all([chart.load(), tape.load(), header.refresh()]);
    await Promise.all(["book", "trades"].map((channel) => app.gateway.request({ op: "unsubscribe", channel, market: previous }).catch(() => undefined)));
    await subscribeMarket();
  }

  ticket.marketChanged();
  app.gateway.start();
  background(account.walletChanged());
  background(Promise.all([chart.load(), tape.load(), header.refresh(), session.offerWallets()]));
  setInterval(() => {
    void header.refresh().catch(() => undefined);
    if (app.wallet) void account.refresh().catch(() => undefined);
  }, POLL_MS);
}

const config = await loadConfig();
exposeConsole(config);
if (config.gatewayUrl) start(config, config.gatewayUrl);
else document.body.prepend(h("p", { class: "banner" }, "The deployment names no gateway: is the node running?"));
document.body.dataset.ready = "true";
