import { describe, expect, it } from "vitest";
import { MetricDirection, MetricKind } from "../src/gen/vary/v1/experiment_pb.js";
import { directionOf, formatAbsoluteLift, formatMetricValue, statusTone } from "../src/metrics.js";

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
  it("colours statuses", () => {
    expect(statusTone("running")).toBe("green");
    expect(statusTone("archived")).toBe("muted");
  });
});
