// Readable amounts <-> the integers orders and transactions carry, exactly or not at all,
// as perpdex.sdk.amounts does it: nothing rounds, a value with more decimals than its
// scale or off its market's grid is refused before anything is signed.

export class AmountError extends Error {}

const DECIMAL = /^\s*(\d*)(?:\.(\d*))?\s*$/;

/** "0.015" at 8 decimals -> 1500000n; AmountError if it is not a plain decimal or too fine. */
export function toUnits(text: string, decimals: number, what: string): bigint {
  const match = DECIMAL.exec(text);
  const whole = match?.[1] ?? "";
  const fraction = (match?.[2] ?? "").replace(/0+$/, "");
  if (!match || (whole === "" && (match[2] ?? "") === "")) {
    throw new AmountError(`${what}: "${text}" is not a decimal number`);
  }
  if (fraction.length > decimals) {
    throw new AmountError(`${what}: ${text} has more than ${decimals} decimals`);
  }
  return BigInt((whole || "0") + fraction.padEnd(decimals, "0"));
}

/** 1500000n at 8 decimals -> "0.015" (exact; no trailing zeros). */
export function fromUnits(value: bigint, decimals: number): string {
  const negative = value < 0n;
  const digits = (negative ? -value : value).toString().padStart(decimals + 1, "0");
  const whole = digits.slice(0, digits.length - decimals);
  const fraction = digits.slice(digits.length - decimals).replace(/0+$/, "");
  return `${negative ? "-" : ""}${whole}${fraction ? "." + fraction : ""}`;
}

/** A positive amount that is a whole number of ``step``s (a lot or a tick). */
export function onGrid(amount: bigint, step: bigint, what: string, stepText: string): bigint {
  if (amount <= 0n) throw new AmountError(`${what} must be positive`);
  if (amount % step !== 0n) throw new AmountError(`${what} is not a multiple of ${stepText}`);
  return amount;
}

/** A decimal string for display with at most ``places`` decimals (cut, not rounded up). */
export function shown(text: string | null | undefined, places = 4): string {
  if (text === null || text === undefined) return "—";
  const [whole, fraction = ""] = text.split(".");
  const cut = fraction.slice(0, places).replace(/0+$/, "");
  return cut ? `${whole}.${cut}` : (whole ?? text);
}
