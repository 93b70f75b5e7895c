// The operator dashboard (docs/web.md): the node's /health, /metrics and /operator/...
// reads, every two seconds; plots where a trend matters more than a number.
import { getJson, getText } from "../api";
import { byId, fillRows, h, shortHex, time } from "../dom";
import { shown } from "../units";
import { Plot } from "./plots";

const POLL_MS = 2000;

interface Health {
  ok: boolean;
  services: { name: string; running: boolean }[];
  chainHead: number | null;
  foldedBlock: number | null;
  chainHeadLag: number | null;
  chainError: string | null;
  journalSeq: number | null;
  durableSeq: number | null;
  settledSeq: number | null;
  checkpointedSeq: number | null;
}

interface Settlement {
  batches: { time: number; txHash: string; block: number; fills: number; settled: number; gasUsed: number; gasPerFill: number | null }[];
  refused: { time: number; market: string; price: string; size: string; reason: string; txHash: string | null }[];
  refusals: Record<string, number>;
}

interface KeeperAction {
  time: number;
  kind: string;
  market: string;
  txHash: string;
  block: number;
  trader: string | null;
  fundingRate: string | null;
  price: string | null;
}

interface FundingRate {
  market: string;
  rate: string | null;
  intervalS: number | null;
  nextFundingTime: number | null;
}

const sequence = new Plot("sequence-plot");
const gas = new Plot("gas-plot", true);
const insurance = new Plot("insurance-plot");
const funding = new Plot("funding-plot", true);

function card(label: string, value: string | number | null, kind = "", id?: string): HTMLElement {
  return h("div", { class: "card", "data-testid": id }, h("div", { class: "label" }, label), h("div", { class: `value ${kind}` }, value ?? "—"));
}

const tx = (hash: string | null) => (hash ? h("span", { title: hash }, shortHex(hash)) : "—");

async function health(now: number): Promise<void> {
  const health = await getJson<Health>("/health");
  const overall = byId("overall");
  overall.textContent = health.ok ? "healthy" : "degraded";
  overall.className = `badge ${health.ok ? "ok" : "down"}`;
  byId("services").replaceChildren(...health.services.map((s) => card(s.name, s.running ? "running" : "stopped", s.running ? "ok" : "down", `service-${s.name}`)));
  byId("progress").replaceChildren(
    card("chain head", health.chainHead),
    card("folded block", health.foldedBlock),
    card("head lag (blocks)", health.chainHeadLag, (health.chainHeadLag ?? 0) > 5 ? "down" : ""),
    card("engine seq", health.journalSeq, "", "journal-seq"),
    card("durable seq", health.durableSeq),
    card("settled seq", health.settledSeq, "", "settled-seq"),
    card("checkpointed seq", health.checkpointedSeq, "", "checkpointed-seq"),
    ...(health.chainError ? [card("chain error", health.chainError, "down")] : []),
  );
  const t = Math.floor(now / 1000);
  for (const [name, value] of [["engine", health.journalSeq], ["settled", health.settledSeq], ["checkpointed", health.checkpointedSeq]] as const) {
    if (value !== null) sequence.add(name, t, value);
  }
}

async function settlement(): Promise<void> {
  const s = await getJson<Settlement>("/operator/settlement?limit=50");
  fillRows(byId("batches") as HTMLTableSectionElement, s.batches.map((b) => h("tr", { "data-block": String(b.block) },
    h("td", {}, time(b.time)), h("td", {}, b.block), h("td", {}, tx(b.txHash)), h("td", { class: "fills" }, b.fills),
    h("td", { class: "settled" }, b.settled), h("td", {}, b.gasUsed.toLocaleString("en")), h("td", {}, b.gasPerFill?.toLocaleString("en") ?? "—"))),
    "no batch settled yet", 7);
  const reasons = Object.entries(s.refusals);
  byId("refusals").textContent = reasons.length ? `refused: ${reasons.map(([r, n]) => `${r} ${n}`).join(", ")}` : "no refused fills";
  fillRows(byId("refused") as HTMLTableSectionElement, s.refused.map((r) => h("tr", {},
    h("td", {}, time(r.time)), h("td", {}, r.market), h("td", {}, r.price), h("td", {}, r.size), h("td", {}, r.reason), h("td", {}, tx(r.txHash)))),
    "none", 6);
  gas.set("gas per fill", s.batches.filter((b) => b.gasPerFill !== null).map((b) => [b.block, b.gasPerFill!]));
}

async function keeper(): Promise<void> {
  const [actions, liquidations, rates] = await Promise.all([
    getJson<KeeperAction[]>("/operator/keeper?limit=50"),
    getJson<KeeperAction[]>("/operator/liquidations?limit=50"),
    getJson<FundingRate[]>("/operator/funding"),
  ]);
  const row = (a: KeeperAction) => h("tr", {},
    h("td", {}, time(a.time)), h("td", {}, a.kind), h("td", {}, a.market), h("td", {}, shown(a.price, 2)),
    h("td", {}, a.fundingRate ?? "—"), h("td", {}, a.trader ? shortHex(a.trader) : "—"), h("td", {}, a.block), h("td", {}, tx(a.txHash)));
  fillRows(byId("keeper") as HTMLTableSectionElement, actions.map(row), "no keeper action yet", 8);
  fillRows(byId("liquidations") as HTMLTableSectionElement, liquidations.map((a) => h("tr", {},
    h("td", {}, time(a.time)), h("td", {}, a.kind), h("td", {}, a.market), h("td", {}, a.trader ? shortHex(a.trader) : "—"),
    h("td", {}, a.block), h("td", {}, tx(a.txHash)))), "no liquidation", 6);
  fillRows(byId("funding") as HTMLTableSectionElement, rates.map((r) => h("tr", {},
    h("td", {}, r.market), h("td", {}, r.rate === null ? "—" : `${(Number(r.rate) * 100).toFixed(4)}%`),
    h("td", {}, r.intervalS === null ? "—" : `${r.intervalS / 60} min`),
    h("td", {}, r.nextFundingTime === null ? "—" : time(r.nextFundingTime)))), "no market", 4);
  const posts = actions.filter((a) => a.kind === "funding" && a.fundingRate !== null);
  for (const market of new Set(posts.map((a) => a.market))) {
    funding.set(market, posts.filter((a) => a.market === market).map((a) => [a.block, Number(a.fundingRate) * 100]));
  }
}

async function fund(now: number): Promise<void> {
  const fund = await getJson<{ balance: string | null; block: number | null }>("/operator/insurance-fund");
  byId("insurance").textContent = fund.balance === null ? "not read yet" : `${fund.balance} USDC at block ${fund.block}`;
  if (fund.balance !== null) insurance.add("insurance fund", Math.floor(now / 1000), Number(fund.balance));
}

/** The Prometheus text's samples without labels, and labelled ones summed per name. */
async function metrics(): Promise<void> {
  const totals = new Map<string, number>();
  for (const line of (await getText("/metrics")).split("\n")) {
    const match = /^([a-z_:][a-z0-9_:]*)(\{[^}]*\})?\s+(\S+)$/i.exec(line);
    if (!match || line.startsWith("#") || match[1]!.endsWith("_created")) continue;
    totals.set(match[1]!, (totals.get(match[1]!) ?? 0) + Number(match[3]));
  }
  byId("metrics").replaceChildren(...[...totals].filter(([name]) => name.startsWith("perpdex_")).map(([name, value]) =>
    card(name.replace(/^perpdex_/, "").replaceAll("_", " "), value.toLocaleString("en"), "", `metric-${name}`)));
}

async function poll(): Promise<void> {
  const now = Date.now();
  const results = await Promise.allSettled([health(now), settlement(), keeper(), fund(now), metrics()]);
  const failed = results.filter((r): r is PromiseRejectedResult => r.status === "rejected");
  byId("updated").textContent = failed.length
    ? `update failed: ${failed.map((f) => (f.reason as Error).message).join("; ")}`
    : `updated ${time(now)}`;
}

await poll();
setInterval(() => void poll(), POLL_MS);
document.body.dataset.ready = "true";
