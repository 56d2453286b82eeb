import { type MessageInitShape, create } from "@bufbuild/protobuf";
import { describe, expect, it } from "vitest";
import { VariantMetricSchema } from "../src/gen/vary/v1/analysis_pb.js";
import { GuardrailAction, MetricDirection, MetricKind } from "../src/gen/vary/v1/experiment_pb.js";
import { badWay, directionOf, goodWay } from "../src/direction.js";
import {
  forestRowOf,
  formatAbsoluteInterval,
  formatAbsoluteLift,
  formatMetricValue,
  guardrailText,
  significanceLabel,
  statusTone,
} from "../src/metrics.js";

describe("metric formatting", () => {
  it("shows conversions as percents and their lifts in percentage points", () => {
    expect(formatMetricValue(MetricKind.CONVERSION, 0.1234)).toBe("12.34%");
    expect(formatAbsoluteLift(MetricKind.CONVERSION, 0.012)).toBe("+1.2 pp");
    expect(formatAbsoluteLift(MetricKind.CONVERSION, undefined)).toBe("—");
  });
  it("shows other kinds as numbers", () => {
    expect(formatMetricValue(MetricKind.SUM, 1234.5)).toBe("1,235");
    expect(formatAbsoluteLift(MetricKind.MEAN, -0.35)).toBe("−0.35");
  });
  it("treats an unspecified direction as increase", () => {
    expect(directionOf(MetricDirection.UNSPECIFIED)).toBe("increase");
    expect(directionOf(MetricDirection.DECREASE)).toBe("decrease");
  });
  it("words the good and the bad way of each direction", () => {
    expect([goodWay("increase"), badWay("increase")]).toEqual(["higher", "lower"]);
    expect([goodWay("decrease"), badWay("decrease")]).toEqual(["lower", "higher"]);
  });
  it("colours statuses", () => {
    expect(statusTone("running")).toBe("green");
    expect(statusTone("archived")).toBe("muted");
  });
  it("words a guardrail's tolerance in the metric's bad direction", () => {
    expect(guardrailText(MetricDirection.INCREASE, 0.05, GuardrailAction.ALERT)).toBe("at most 5.0% lower, else alert");
    // Lower is better for a bounce rate: degrading means rising.
    expect(guardrailText(MetricDirection.DECREASE, 0.1, GuardrailAction.PAUSE)).toBe("at most 10.0% higher, else pause");
  });
  it("labels significance with its direction", () => {
    expect(significanceLabel(true, -0.02, "decrease")).toEqual({ text: "yes, better", tone: "good" });
    expect(significanceLabel(true, -0.02, "increase")).toEqual({ text: "yes, worse", tone: "bad" });
    expect(significanceLabel(false, 0.3, "increase")).toEqual({ text: "no", tone: "neutral" });
  });
  it("prints both ends of an absolute CI to the same decimals, with signs", () => {
    expect(formatAbsoluteInterval(MetricKind.RATIO, 0.0221, 0.04854)).toBe("[+0.02210, +0.04854]");
    expect(formatAbsoluteInterval(MetricKind.SUM, 0.1776, 2.119)).toBe("[+0.178, +2.119]");
    expect(formatAbsoluteInterval(MetricKind.MEAN, -13.79, 11.69)).toBe("[−13.79, +11.69]");
    expect(formatAbsoluteInterval(MetricKind.CONVERSION, -0.0534, -0.00363)).toBe("[−5.34 pp, −0.36 pp]");
    expect(formatAbsoluteInterval(MetricKind.SUM, 0, 0)).toBe("[0, 0]");
    expect(formatAbsoluteInterval(MetricKind.SUM, undefined, 1)).toBe("—");
  });
});

describe("forestRowOf", () => {
  const variant = (init: MessageInitShape<typeof VariantMetricSchema>) => create(VariantMetricSchema, init);

  it("gives the server's reason when there is no comparison, as the table does", () => {
    const row = forestRowOf(variant({ variantKey: "b", notComputableReason: "too few units" }));
    expect(row.missing).toBe("too few units");
    expect(row.estimate).toBeUndefined();
    expect(row.significant).toBe(false);
  });
  it("says 'not computable' when the server gives no reason", () => {
    expect(forestRowOf(variant({ variantKey: "b" })).missing).toBe("not computable");
  });
  it("says the control is 0 when the comparison has no relative lift", () => {
    const row = forestRowOf(variant({ variantKey: "b", comparison: { absoluteLift: 0.1, relativeCi: { low: -1, high: 1 } } }));
    expect(row.missing).toBe("no relative lift (control is 0)");
    expect(row.low).toBeUndefined();
    expect(row.high).toBeUndefined();
  });
  it("carries the relative lift and its interval", () => {
    const row = forestRowOf(
      variant({ variantKey: "b", comparison: { relativeLift: 0.05, relativeCi: { low: 0.01, high: 0.09 }, significant: true } }),
    );
    expect(row).toMatchObject({ label: "b", estimate: 0.05, low: 0.01, high: 0.09, significant: true });
  });
});
