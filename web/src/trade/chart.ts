// Candles of the chosen market (lightweight-charts): history from the API, the open
// candle moved by every trade of the live tape.
import {
  type CandlestickData,
  CandlestickSeries,
  type HistogramData,
  HistogramSeries,
  type IChartApi,
  type ISeriesApi,
  type UTCTimestamp,
  createChart,
} from "lightweight-charts";
import { type Candle, getJson } from "../api";
import { byId, h } from "../dom";
import { type App, priceDecimals } from "./app";

const INTERVALS: Record<string, number> = { "1m": 60_000, "5m": 300_000, "15m": 900_000, "1h": 3_600_000 };
const UP = "#26a69a";
const DOWN = "#ef5350";

export class CandleChart {
  private readonly chart: IChartApi;
  private readonly candles: ISeriesApi<"Candlestick">;
  private readonly volume: ISeriesApi<"Histogram">;
  private interval = "1m";
  private last: CandlestickData<UTCTimestamp> & { volume: number } | null = null;

  constructor(private readonly app: App) {
    this.chart = createChart(byId("chart"), {
      autoSize: true,
      layout: { background: { color: "transparent" }, textColor: "#9aa4b2", attributionLogo: false },
      grid: { vertLines: { color: "#1f2630" }, horzLines: { color: "#1f2630" } },
      timeScale: { timeVisible: true, secondsVisible: false, borderColor: "#2a3240", barSpacing: 12, rightOffset: 4 },
      rightPriceScale: { borderColor: "#2a3240" },
    });
    this.candles = this.chart.addSeries(CandlestickSeries, {
      upColor: UP, downColor: DOWN, wickUpColor: UP, wickDownColor: DOWN, borderVisible: false,
    });
    this.volume = this.chart.addSeries(HistogramSeries, {
      priceFormat: { type: "volume" }, priceScaleId: "volume", lastValueVisible: false, priceLineVisible: false,
    });
    this.chart.priceScale("volume").applyOptions({ scaleMargins: { top: 0.8, bottom: 0 } });
    const bar = byId("intervals");
    for (const name of Object.keys(INTERVALS)) {
      const button = h("button", { type: "button", "data-interval": name, "aria-pressed": String(name === this.interval) }, name);
      button.onclick = () => {
        this.interval = name;
        for (const b of bar.querySelectorAll("button")) b.setAttribute("aria-pressed", String(b === button));
        this.load().catch((error: Error) => console.error("candles:", error));
      };
      bar.append(button);
    }
  }

  async load(): Promise<void> {
    const market = this.app.market;
    const decimals = priceDecimals(this.app, market);
    this.candles.applyOptions({ priceFormat: { type: "price", precision: decimals, minMove: 10 ** -decimals } });
    const list = await getJson<Candle[]>(`/markets/${market.symbol}/candles?interval=${this.interval}&limit=500`);
    if (market !== this.app.market) return; // the trader moved on meanwhile
    const data = list.map((c) => ({
      time: (c.start / 1000) as UTCTimestamp,
      open: Number(c.open), high: Number(c.high), low: Number(c.low), close: Number(c.close), volume: Number(c.volume),
    }));
    this.candles.setData(data);
    this.volume.setData(data.map((c) => this.bar(c)));
    this.last = data.at(-1) ?? null;
  }

  /** A trade of the chosen market (display numbers: the chart needs no exactness). */
  trade(timeMs: number, price: number, size: number): void {
    const width = INTERVALS[this.interval]!;
    const start = (Math.floor(timeMs / width) * width / 1000) as UTCTimestamp;
    const last = this.last;
    if (last && last.time > start) return; // older than what is drawn
    this.last = last && last.time === start
      ? { ...last, high: Math.max(last.high, price), low: Math.min(last.low, price), close: price, volume: last.volume + size }
      : { time: start, open: price, high: price, low: price, close: price, volume: size };
    this.candles.update(this.last);
    this.volume.update(this.bar(this.last));
  }

  private bar(c: CandlestickData<UTCTimestamp> & { volume: number }): HistogramData<UTCTimestamp> {
    return { time: c.time, value: c.volume, color: c.close >= c.open ? `${UP}80` : `${DOWN}80` };
  }
}
