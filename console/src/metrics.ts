// How results of each metric kind read: conversion rates as percents and their lifts in
// percentage points, other kinds as plain numbers. Pure, so tested without a browser.
import { GuardrailAction, type MetricDirection, MetricKind } from "./gen/vary/v1/experiment_pb.js";
import type { VariantMetric } from "./gen/vary/v1/analysis_pb.js";
import { type ForestRow, type Tone, effectTone } from "./charts/forest.js";
import { type Direction, badWay, directionOf } from "./direction.js";
import {
  formatInterval,
  formatNumber,
  formatPercent,
  formatSignedFixed,
  formatSignedNumber,
  MISSING,
  sharedDecimals,
} from "./format.js";
import { enumLabel } from "./lifecycle.js";

/** A metric's value: "12.34%" for conversions, "3.142" otherwise. */
export function formatMetricValue(kind: MetricKind, value: number | undefined): string {
  return kind === MetricKind.CONVERSION ? formatPercent(value, 2) : formatNumber(value);
}

/** An absolute lift: "+1.2 pp" for conversions, "+0.35" otherwise. */
export function formatAbsoluteLift(kind: MetricKind, value: number | undefined): string {
  if (kind === MetricKind.CONVERSION) {
    const text = formatSignedNumber(value === undefined ? undefined : value * 100, 3);
    return text === MISSING ? text : `${text} pp`;
  }
  return formatSignedNumber(value);
}

/**
 * An absolute lift's 95% CI with both ends to the same decimals ("[+0.178, +2.119]",
 * "[−5.34 pp, −0.36 pp]"), the precision set by the larger end as for a single lift.
 */
export function formatAbsoluteInterval(kind: MetricKind, low: number | undefined, high: number | undefined): string {
  const conversion = kind === MetricKind.CONVERSION;
  const scale = conversion ? 100 : 1;
  const ends = [low, high].map((v) => (v === undefined ? undefined : v * scale));
  const decimals = sharedDecimals(ends.filter((v): v is number => v !== undefined), conversion ? 3 : 4);
  const unit = conversion ? " pp" : "";
  return formatInterval(ends[0], ends[1], (v) => `${formatSignedFixed(v, decimals)}${unit}`);
}

/**
 * A treatment's row of the forest plot. Without a relative lift the row says why, as the
 * metric table does: a comparison without one means the control is 0; no comparison at
 * all means the server could not compute it, and its `notComputableReason` says why.
 */
export function forestRowOf(variant: VariantMetric): ForestRow {
  const c = variant.comparison;
  const hasRelative = c?.relativeLift !== undefined;
  return {
    label: variant.variantKey,
    estimate: c?.relativeLift,
    low: hasRelative ? c?.relativeCi?.low : undefined,
    high: hasRelative ? c?.relativeCi?.high : undefined,
    significant: c?.significant ?? false,
    missing: c ? "no relative lift (control is 0)" : variant.notComputableReason || "not computable",
  };
}

/**
 * A guardrail's tolerance in words that follow the metric's direction: a degradation is a
 * fall where higher is better but a rise where lower is better (a bounce rate, a latency),
 * so "max −5%" would be wrong for half of them.
 */
export function guardrailText(direction: MetricDirection, maxRelativeDegradation: number, action: GuardrailAction): string {
  return `at most ${formatPercent(maxRelativeDegradation, 1)} ${badWay(directionOf(direction))}, else ${enumLabel(GuardrailAction, action)}`;
}

/**
 * The "Significant" cell of a comparison: whether it is, and which way, coloured like the
 * forest plot (from the absolute lift, which exists even when the relative one does not).
 */
export function significanceLabel(
  significant: boolean,
  absoluteLift: number,
  direction: Direction,
): { text: string; tone: Tone } {
  const tone = effectTone(absoluteLift, significant, direction);
  if (tone === "good") return { text: "yes, better", tone };
  if (tone === "bad") return { text: "yes, worse", tone };
  return { text: significant ? "yes" : "no", tone };
}

/** Status pill tones by lowercase status name. */
export function statusTone(status: string): string {
  switch (status) {
    case "running":
      return "green";
    case "paused":
      return "amber";
    case "draft":
      return "blue";
    case "stopped":
      return "grey";
    default:
      return "muted";
  }
}
