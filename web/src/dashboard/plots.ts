// Line plots of the dashboard (lightweight-charts). Plots over time take the page's own
// samples (seconds); plots by block put the block number on the horizontal axis.
import {
  type IChartApi,
  type ISeriesApi,
  type LineData,
  LineSeries,
  type Time,
  type UTCTimestamp,
  createChart,
} from "lightweight-charts";
import { byId } from "../dom";

const COLORS = ["#4c8dff", "#26a69a", "#e0a030", "#ef5350", "#b07cff"];

export class Plot {
  private readonly chart: IChartApi;
  private readonly series = new Map<string, ISeriesApi<"Line">>();
  private readonly last = new Map<string, number>();

  constructor(id: string, byBlock = false) {
    this.chart = createChart(byId(id), {
      autoSize: true,
      layout: { background: { color: "transparent" }, textColor: "#9aa4b2", attributionLogo: false },
      grid: { vertLines: { color: "#1f2630" }, horzLines: { color: "#1f2630" } },
      timeScale: { timeVisible: true, secondsVisible: true, borderColor: "#2a3240" },
      rightPriceScale: { borderColor: "#2a3240" },
      ...(byBlock
        ? {
            localization: { timeFormatter: (t: Time) => `block ${String(t)}` },
            timeScale: { tickMarkFormatter: (t: Time) => String(t), borderColor: "#2a3240" },
          }
        : {}),
    });
  }

  /** Add a point to ``name``'s line; a point not after its last one is dropped. */
  add(name: string, x: number, y: number): void {
    if ((this.last.get(name) ?? -Infinity) >= x) return;
    this.last.set(name, x);
    this.line(name).update({ time: x as UTCTimestamp, value: y });
  }

  /** Replace ``name``'s line (points sorted by x, one per x: the last wins). */
  set(name: string, points: [number, number][]): void {
    const byX = new Map(points);
    const data: LineData<UTCTimestamp>[] = [...byX].sort(([a], [b]) => a - b).map(([x, y]) => ({ time: x as UTCTimestamp, value: y }));
    this.line(name).setData(data);
    this.last.set(name, data.at(-1)?.time ?? -Infinity);
  }

  private line(name: string): ISeriesApi<"Line"> {
    let series = this.series.get(name);
    if (!series) {
      series = this.chart.addSeries(LineSeries, {
        color: COLORS[this.series.size % COLORS.length], title: name, lineWidth: 2, pointMarkersVisible: true,
      });
      this.series.set(name, series);
    }
    return series;
  }
}
