// The header: market selector and the chosen market's figures (index and mark price,
// funding, open interest, volume), read from the API every few seconds.
import { type Market, getJson } from "../api";
import { byId, countdown, h } from "../dom";
import { shown } from "../units";
import type { App } from "./app";

export class Header {
  private markets: Market[] = [];

  constructor(
    private readonly app: App,
    choose: (id: number) => void,
  ) {
    const select = byId<HTMLSelectElement>("market");
    select.replaceChildren(...app.config.markets.map((m) => h("option", { value: String(m.id) }, m.symbol)));
    select.onchange = () => choose(Number(select.value));
    setInterval(() => this.draw(), 1000);
  }

  async refresh(): Promise<void> {
    this.markets = await getJson<Market[]>("/markets");
    this.draw();
  }

  /** The chosen market's mark price as the API last read it (a market order's sanity). */
  private draw(): void {
    const m = this.markets.find((market) => market.id === this.app.market.id);
    if (!m) return;
    const funding = m.fundingRate === null ? "—" : `${(Number(m.fundingRate) * 100).toFixed(4)}%`;
    const next = m.nextFundingTime === null ? "—" : countdown((m.nextFundingTime - Date.now()) / 1000);
    const figures: [string, string, string][] = [
      ["Mark", shown(m.markPrice, 2) + (m.markPriceFresh === false ? " (stale)" : ""), "mark"],
      ["Index", shown(m.indexPrice, 2), "index"],
      ["Funding", funding, "funding"],
      ["Next funding", next, "next-funding"],
      ["Open interest", shown(m.openInterest, 4), "open-interest"],
      ["24 h volume", shown(m.volume24h, 4), "volume"],
    ];
    byId("stats").replaceChildren(...figures.flatMap(([label, value, id]) => [h("dt", {}, label), h("dd", { "data-testid": id }, value)]));
  }
}
