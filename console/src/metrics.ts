// How results of each metric kind read: conversion rates as percents and their lifts in
// percentage points, other kinds as plain numbers. Pure, so tested without a browser.
import { MetricDirection, MetricKind } from "./gen/vary/v1/experiment_pb.js";
import type { Direction } from "./charts/forest.js";
import { formatNumber, formatPercent, formatSignedNumber } from "./format.js";

/** A metric's value: "12.34%" for conversions, "3.142" otherwise. */
export function formatMetricValue(kind: MetricKind, value: number | undefined): string {
  return kind === MetricKind.CONVERSION ? formatPercent(value, 2) : formatNumber(value);
}

/** An absolute lift: "+1.2 pp" for conversions, "+0.35" otherwise. */
export function formatAbsoluteLift(kind: MetricKind, value: number | undefined): string {
  if (kind === MetricKind.CONVERSION) {
    const text = formatSignedNumber(value === undefined ? undefined : value * 100, 3);
    return text === "—" ? text : `${text} pp`;
  }
  return formatSignedNumber(value);
}

/** The forest plot's direction; UNSPECIFIED means INCREASE, as the API documents. */
export function directionOf(direction: MetricDirection): Direction {
  return direction === MetricDirection.DECREASE ? "decrease" : "increase";
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
