// Which way a metric improves, and the words for it. One place, so the metric table, the
// results heading, the forest plot's description and the guardrail text cannot disagree.
import { MetricDirection } from "./gen/vary/v1/experiment_pb.js";

/** Which way of change is an improvement for the metric. */
export type Direction = "increase" | "decrease";

/** A metric's direction; UNSPECIFIED means INCREASE, as the API documents. */
export function directionOf(direction: MetricDirection): Direction {
  return direction === MetricDirection.DECREASE ? "decrease" : "increase";
}

/** Where the metric goes when it improves: "higher" (is better) or "lower". */
export function goodWay(direction: Direction): "higher" | "lower" {
  return direction === "increase" ? "higher" : "lower";
}

/** Where the metric goes when it degrades: the opposite of `goodWay`. */
export function badWay(direction: Direction): "higher" | "lower" {
  return goodWay(direction) === "higher" ? "lower" : "higher";
}
