// A few DOM helpers: the pages build their tables and controls from these.

type Child = Node | string | number | null | undefined | false;

export function h<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  attributes: Record<string, string | boolean | undefined> = {},
  ...children: Child[]
): HTMLElementTagNameMap[K] {
  const element = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) {
    if (value === undefined || value === false) continue;
    element.setAttribute(name, value === true ? "" : value);
  }
  element.append(...children.filter((c): c is Node | string | number => c !== null && c !== undefined && c !== false).map((c) => (typeof c === "number" ? String(c) : c)));
  return element;
}

export function byId<T extends HTMLElement = HTMLElement>(id: string): T {
  const element = document.getElementById(id);
  if (!element) throw new Error(`no #${id} in the page`);
  return element as T;
}

/** Replace a table body's rows; an empty list shows ``empty`` across the table. */
export function fillRows(body: HTMLTableSectionElement, rows: HTMLTableRowElement[], empty: string, columns: number): void {
  body.replaceChildren(...(rows.length ? rows : [h("tr", { class: "empty" }, h("td", { colspan: String(columns) }, empty))]));
}

export function time(ms: number): string {
  return new Date(ms).toLocaleTimeString([], { hour12: false });
}

export function shortHex(hex: string): string {
  return `${hex.slice(0, 6)}…${hex.slice(-4)}`;
}

/** "1m 05s" for a countdown; "now" at or below zero. */
export function countdown(seconds: number): string {
  if (seconds <= 0) return "now";
  const s = Math.ceil(seconds);
  const m = Math.floor(s / 60);
  return m ? `${m}m ${String(s % 60).padStart(2, "0")}s` : `${s}s`;
}

/** Show a result or an error in a status line; errors stay until the next message. */
export function say(element: HTMLElement, text: string, kind: "ok" | "error" | "busy" = "ok"): void {
  element.textContent = text;
  element.dataset.kind = kind;
}
