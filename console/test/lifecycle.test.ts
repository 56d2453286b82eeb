import { describe, expect, it } from "vitest";
import { ExperimentStatus } from "../src/gen/vary/v1/experiment_pb.js";
import { allowedActions, enumLabel } from "../src/lifecycle.js";
import { MetricRole } from "../src/gen/vary/v1/experiment_pb.js";

describe("allowedActions", () => {
  it("offers only the transitions valid in each status", () => {
    expect(allowedActions(ExperimentStatus.DRAFT)).toEqual(["start"]);
    expect(allowedActions(ExperimentStatus.RUNNING)).toEqual(["pause", "stop"]);
    expect(allowedActions(ExperimentStatus.PAUSED)).toEqual(["resume", "stop"]);
    expect(allowedActions(ExperimentStatus.STOPPED)).toEqual([]);
    expect(allowedActions(ExperimentStatus.ARCHIVED)).toEqual([]);
    expect(allowedActions(ExperimentStatus.UNSPECIFIED)).toEqual([]);
  });
});

describe("labels", () => {
  it("names statuses and enum values", () => {
    expect(enumLabel(ExperimentStatus, ExperimentStatus.RUNNING)).toBe("running");
    expect(enumLabel(ExperimentStatus, 99)).toBe("unknown (99)");
    expect(enumLabel(MetricRole, MetricRole.GUARDRAIL)).toBe("guardrail");
    expect(enumLabel(MetricRole, 42)).toBe("unknown (42)");
  });
});
