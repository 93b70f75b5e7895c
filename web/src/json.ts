// The gateway's and the API's integers can exceed 2^53 (docs/protocol.md, "Units"): they
// are read as bigint, never as a rounded number, and written back as bare JSON integers.

type Reviver = (key: string, value: unknown, context?: { source?: string }) => unknown;
declare global {
  interface JSON {
    rawJSON(text: string): unknown;
  }
}

const INTEGER = /^-?\d+$/;

/** JSON.parse, with every integer outside the safe range as a bigint (exact). */
export function parseJson(text: string): unknown {
  const reviver: Reviver = (_key, value, context) =>
    typeof value === "number" && !Number.isSafeInteger(value) && INTEGER.test(context?.source ?? "")
      ? BigInt(context!.source!)
      : value;
  return JSON.parse(text, reviver as (key: string, value: unknown) => unknown);
}

/** JSON.stringify, with bigints as JSON integers. */
export function toJson(value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) =>
    typeof v === "bigint" ? JSON.rawJSON(v.toString()) : v,
  );
}

/** A JSON integer that may have been read as a number or a bigint. */
export function big(value: unknown): bigint {
  if (typeof value === "bigint") return value;
  if (typeof value === "number" && Number.isInteger(value)) return BigInt(value);
  if (typeof value === "string" && INTEGER.test(value)) return BigInt(value);
  throw new TypeError(`not an integer: ${String(value)}`);
}
