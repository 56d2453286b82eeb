// Number, percent and time formatting for the console. Pure functions with a fixed locale
// (en-US digits and separators) so the output is the same in every browser and in tests;
// anything not finite renders as an em dash rather than "NaN".
import type { JsonValue } from "@bufbuild/protobuf";

/** What the console shows where a number is missing or not finite. */
export const MISSING = "—";

const MINUS = "−"; // U+2212, the typographic minus, so signed columns line up

/** Whether `value` is a number other than NaN and ±Infinity. */
export function finite(value: number | undefined | null): value is number {
  return typeof value === "number" && Number.isFinite(value);
}

/** Replaces a leading ASCII hyphen with a typographic minus. */
function withMinus(text: string): string {
  return text.startsWith("-") ? MINUS + text.slice(1) : text;
}

/** 0 for -0, else `value`: a rounded small negative must not print as "−0" (or "-0"). */
export function withoutNegativeZero(value: number): number {
  return Object.is(value, -0) ? 0 : value;
}

/** Rounds away floating-point noise and "-0" so formatting never prints "−0". */
function clean(value: number, digits: number): number {
  return withoutNegativeZero(Number(value.toFixed(digits)));
}

/** An integer count with thousands separators: 1234567 → "1,234,567". */
export function formatCount(value: number | bigint | undefined | null): string {
  if (typeof value === "bigint") return withMinus(value.toLocaleString("en-US"));
  if (!finite(value)) return MISSING;
  return withMinus(Math.round(value).toLocaleString("en-US"));
}

/** A fraction as a percent with `digits` decimals: 0.1234 → "12.3%". */
export function formatPercent(fraction: number | undefined | null, digits = 1): string {
  if (!finite(fraction)) return MISSING;
  return withMinus(`${clean(fraction * 100, digits).toFixed(digits)}%`);
}

/** A signed fraction as a percent, "+" for gains: 0.021 → "+2.1%", -0.5 → "−50.0%". */
export function formatSignedPercent(fraction: number | undefined | null, digits = 1): string {
  if (!finite(fraction)) return MISSING;
  const text = formatPercent(fraction, digits);
  return clean(fraction * 100, digits) > 0 ? `+${text}` : text;
}

/** Basis points (0..=10000) as a percent without trailing zeros: 2500 → "25%", 1250 → "12.5%". */
export function formatBps(bps: number | undefined | null): string {
  if (!finite(bps)) return MISSING;
  return `${clean(bps / 100, 2)}%`;
}

/** A number with at most `significant` significant digits and separators: 1234.567 → "1,234.57". */
export function formatNumber(value: number | undefined | null, significant = 4): string {
  if (!finite(value)) return MISSING;
  if (value === 0) return "0";
  const magnitude = Math.floor(Math.log10(Math.abs(value)));
  const decimals = Math.max(0, Math.min(10, significant - 1 - magnitude));
  const rounded = clean(value, decimals);
  return withMinus(
    rounded.toLocaleString("en-US", { minimumFractionDigits: 0, maximumFractionDigits: decimals }),
  );
}

/** A signed number, "+" for positive: 0.5 → "+0.5". */
export function formatSignedNumber(value: number | undefined | null, significant = 4): string {
  if (!finite(value)) return MISSING;
  const text = formatNumber(value, significant);
  return value > 0 && text !== "0" ? `+${text}` : text;
}

/**
 * The thresholds the console judges p-values against: significance (adjusted p < 0.05) and
 * a sample-ratio mismatch (p < 0.001). A displayed p-value must never sit on the other side
 * of one of them than the true value, or "p = 0.05" would stand next to "significant".
 */
const P_THRESHOLDS = [0.05, 0.001];

/**
 * A p-value: tiny ones as "<0.0001", from 0.1 up with 2 decimals ("0.43"), below that with
 * 2 significant digits ("0.043", "0.0043"), adding digits where rounding would cross a
 * threshold (0.0499 → "0.0499", not "0.050").
 */
export function formatPValue(p: number | undefined | null): string {
  if (!finite(p)) return MISSING;
  if (p < 0.0001) return "<0.0001";
  if (p >= 0.1) return clean(p, 2).toFixed(2);
  for (let significant = 2; significant < 6; significant++) {
    const text = p.toPrecision(significant);
    const shown = Number(text);
    if (P_THRESHOLDS.every((t) => p < t === shown < t)) return text;
  }
  return p.toPrecision(6);
}

/** A confidence interval with a formatter for its ends: "[−1.2%, +3.4%]". */
export function formatInterval(
  low: number | undefined,
  high: number | undefined,
  format: (value: number) => string,
): string {
  if (!finite(low) || !finite(high)) return MISSING;
  return `[${format(low)}, ${format(high)}]`;
}

/**
 * Decimals that show the largest magnitude among `values` with `significant` significant
 * digits (0..10), so every number printed with them lines up: an interval's two ends then
 * read "[+0.02210, +0.04854]", not "[+0.0221, +0.04854]". 0 when no value is non-zero.
 */
export function sharedDecimals(values: readonly number[], significant: number): number {
  const largest = Math.max(0, ...values.filter(finite).map(Math.abs));
  if (largest === 0) return 0;
  return Math.max(0, Math.min(10, significant - 1 - Math.floor(Math.log10(largest))));
}

/** A signed number with exactly `decimals` decimals and separators: "+1,234.50", "−0.020". */
export function formatSignedFixed(value: number | undefined | null, decimals: number): string {
  if (!finite(value)) return MISSING;
  const rounded = clean(value, decimals);
  const text = withMinus(
    rounded.toLocaleString("en-US", { minimumFractionDigits: decimals, maximumFractionDigits: decimals }),
  );
  return rounded > 0 ? `+${text}` : text;
}

/**
 * Each weight's share of the total, 0..1. Weights are validated as finite and positive by
 * the control plane; anything else counts as 0, and an all-zero list gives all zeros.
 */
export function weightShares(weights: readonly number[]): number[] {
  const valid = weights.map((w) => (finite(w) && w > 0 ? w : 0));
  const total = valid.reduce((sum, w) => sum + w, 0);
  return valid.map((w) => (total > 0 ? w / total : 0));
}

/**
 * A point in time as "2024-05-01 14:03:09" in the given IANA zone (the browser's when
 * omitted), with the zone's short name appended when `withZone` is set.
 */
export function formatTime(
  date: Date | undefined | null,
  timeZone?: string,
  withZone = false,
): string {
  if (!date || Number.isNaN(date.getTime())) return MISSING;
  const parts = new Intl.DateTimeFormat("en-US", {
    timeZone,
    year: "numeric",
    month: "2-digit",
    day: "2-digit",
    hour: "2-digit",
    minute: "2-digit",
    second: "2-digit",
    hourCycle: "h23",
    timeZoneName: withZone ? "short" : undefined,
  }).formatToParts(date);
  const get = (type: Intl.DateTimeFormatPartTypes): string =>
    parts.find((p) => p.type === type)?.value ?? "";
  const text = `${get("year")}-${get("month")}-${get("day")} ${get("hour")}:${get("minute")}:${get("second")}`;
  return withZone ? `${text} ${get("timeZoneName")}` : text;
}

/** How long ago `date` was, relative to `now`: "just now", "5 min ago", "3 h ago", "2 d ago". */
export function formatAgo(date: Date | undefined | null, now: Date): string {
  if (!date || Number.isNaN(date.getTime())) return MISSING;
  const seconds = Math.round((now.getTime() - date.getTime()) / 1000);
  if (seconds < 0) return "in the future";
  if (seconds < 45) return "just now";
  const minutes = Math.round(seconds / 60);
  if (minutes < 60) return `${minutes} min ago`;
  const hours = Math.round(minutes / 60);
  if (hours < 48) return `${hours} h ago`;
  return `${Math.round(hours / 24)} d ago`;
}

/** A duration in seconds as "7 d", "36 h", "90 min" or "45 s", the largest whole unit. */
export function formatDurationSeconds(seconds: number | bigint | undefined | null): string {
  const s = typeof seconds === "bigint" ? Number(seconds) : seconds;
  if (!finite(s)) return MISSING;
  if (s !== 0 && s % 86400 === 0) return `${s / 86400} d`;
  if (s !== 0 && s % 3600 === 0) return `${s / 3600} h`;
  if (s !== 0 && s % 60 === 0) return `${s / 60} min`;
  return `${s} s`;
}

/** JSON for humans: two-space indent. Callers show absent values their own way. */
export function prettyJson(value: JsonValue): string {
  return JSON.stringify(value, null, 2);
}
