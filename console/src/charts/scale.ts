// Scales and ticks for the SVG charts. Every function here copes with degenerate input
// (empty lists, a zero-width domain, infinities) by widening or dropping it, so the charts
// never write "NaN" into an attribute.
import { withoutNegativeZero } from "../format.js";

/** Maps a value of the domain linearly onto the range. */
export type Scale = (value: number) => number;

/** The smallest and largest finite value, or undefined when there is none. */
export function extent(values: readonly number[]): [number, number] | undefined {
  let low = Infinity;
  let high = -Infinity;
  for (const v of values) {
    if (!Number.isFinite(v)) continue;
    if (v < low) low = v;
    if (v > high) high = v;
  }
  return low <= high ? [low, high] : undefined;
}

/**
 * Widens a domain so it has positive width: equal ends grow by 10% of their magnitude
 * (or by 1 around zero). Non-finite ends become [0, 1].
 */
export function ensureWidth([low, high]: readonly [number, number]): [number, number] {
  if (!Number.isFinite(low) || !Number.isFinite(high)) return [0, 1];
  if (high > low) return [low, high];
  if (high < low) return [high, low];
  const pad = low === 0 ? 1 : Math.abs(low) * 0.1;
  return [low - pad, high + pad];
}

/** Adds `fraction` of the width on both sides. */
export function pad([low, high]: readonly [number, number], fraction: number): [number, number] {
  const width = high - low;
  return [low - width * fraction, high + width * fraction];
}

/** A linear scale; a zero-width domain is widened first so the result is always finite. */
export function linearScale(domain: readonly [number, number], range: readonly [number, number]): Scale {
  const [d0, d1] = ensureWidth(domain);
  const [r0, r1] = range;
  const k = (r1 - r0) / (d1 - d0);
  return (value) => r0 + (value - d0) * k;
}

/** The step for about `count` ticks over `width`: 1, 2 or 5 times a power of ten. */
export function tickStep(width: number, count: number): number {
  if (!(width > 0) || !Number.isFinite(width) || count < 1) return 1;
  const raw = width / count;
  const power = 10 ** Math.floor(Math.log10(raw));
  const multiple = raw / power; // in [1, 10)
  // Round up to 1, 2, 5 or 10 so we never get more ticks than asked for.
  const nice = multiple <= 1 ? 1 : multiple <= 2 ? 2 : multiple <= 5 ? 5 : 10;
  return nice * power;
}

/** Round tick values inside [low, high], about `count` of them. */
export function ticks(domain: readonly [number, number], count = 5): number[] {
  const [low, high] = ensureWidth(domain);
  const step = tickStep(high - low, count);
  const first = Math.ceil(low / step);
  const last = Math.floor(high / step);
  const out: number[] = [];
  for (let i = first; i <= last && out.length <= 50; i++) {
    // Multiply rather than accumulate, and round, so 0.1 + 0.2 style noise cannot appear.
    out.push(Number((i * step).toPrecision(12)));
  }
  return out;
}

/** Rounds a coordinate to 2 decimals for compact, stable SVG output. */
export function px(value: number): string {
  if (!Number.isFinite(value)) return "0";
  return String(withoutNegativeZero(Math.round(value * 100) / 100));
}

/** Sizes of a chart with one row per item: labels left, values right, the plot between. */
export interface RowChartOptions {
  width?: number;
  rowHeight?: number;
  labelWidth?: number;
  valueWidth?: number;
}

/** Where such a chart draws, in user units. */
export interface RowFrame {
  width: number;
  height: number;
  rowHeight: number;
  plotLeft: number;
  plotRight: number;
  plotTop: number;
  plotBottom: number;
}

/**
 * The frame of a chart of `rowCount` rows (at least one row high, so an empty chart still
 * has a plot), with `top` above the rows and `axis` below them, and the plot at least 40
 * units wide however narrow the chart.
 */
export function rowFrame(
  rowCount: number,
  options: RowChartOptions,
  defaults: { labelWidth: number; valueWidth: number; top: number; axis: number },
): RowFrame {
  const width = options.width ?? 640;
  const rowHeight = options.rowHeight ?? 30;
  const plotLeft = options.labelWidth ?? defaults.labelWidth;
  const plotRight = Math.max(plotLeft + 40, width - (options.valueWidth ?? defaults.valueWidth));
  const plotTop = defaults.top;
  const plotBottom = plotTop + Math.max(1, rowCount) * rowHeight;
  return { width, height: plotBottom + defaults.axis, rowHeight, plotLeft, plotRight, plotTop, plotBottom };
}
