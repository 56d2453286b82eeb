// Opt-in check against a running control plane with gRPC-Web enabled: the generated
// client, the transport options and the Bearer interceptor the console uses, over real
// HTTP. Skipped unless VARY_LIVE_URL (e.g. http://127.0.0.1:7070) and VARY_LIVE_TOKEN (an
// admin token) are set. It creates an experiment with a random key and starts it.
import { Code, ConnectError } from "@connectrpc/connect";
import { describe, expect, it } from "vitest";
import { createApi } from "../src/api/client.js";
import { describeError } from "../src/api/errors.js";
import { ExperimentStatus, MetricKind, MetricRole } from "../src/gen/vary/v1/experiment_pb.js";
import { Role } from "../src/gen/vary/v1/auth_pb.js";

const url = process.env.VARY_LIVE_URL ?? "";
const token = process.env.VARY_LIVE_TOKEN ?? "";

describe.skipIf(!url || !token)("live control plane", () => {
  const api = createApi(() => token, { baseUrl: url });
  const key = `console-live-${Date.now().toString(36)}`;

  it("says who the token belongs to", async () => {
    const { token: info } = await api.auth.whoAmI({});
    expect(info?.role).toBe(Role.ADMIN);
  });

  it("maps a refused token to 'Token not accepted'", async () => {
    const bad = createApi(() => "vary_nope_nope", { baseUrl: url });
    const error = await bad.auth.whoAmI({}).catch((e: unknown) => e);
    expect(ConnectError.from(error).code).toBe(Code.Unauthenticated);
    expect(describeError(error).title).toBe("Token not accepted");
  });

  it("creates, lists, starts, diffs and analyses an experiment", async () => {
    await api.experiments.createExperiment({
      key,
      changeNote: "console live test",
      spec: {
        name: "Console live test",
        owner: "console",
        allocationBps: 10000,
        variants: [
          { key: "control", weight: 1, control: true, params: { colour: "blue" } },
          { key: "green", weight: 1, params: { colour: "green", nested: { a: [1, 2] } } },
        ],
        metrics: [{ key: "ctr", role: MetricRole.PRIMARY, kind: MetricKind.CONVERSION, eventType: "click" }],
      },
    });
    const listed = await api.experiments.listExperiments({ status: ExperimentStatus.DRAFT, pageSize: 1000 });
    expect(listed.experiments.map((e) => e.key)).toContain(key);

    await api.experiments.startExperiment({ key, changeNote: "go" });
    const { experiment } = await api.experiments.getExperiment({ key });
    expect(experiment?.status).toBe(ExperimentStatus.RUNNING);
    expect(experiment?.spec?.variants[1]?.params).toEqual({ colour: "green", nested: { a: [1, 2] } });

    const startAgain = await api.experiments.startExperiment({ key }).catch((e: unknown) => e);
    expect(ConnectError.from(startAgain).code).toBe(Code.FailedPrecondition);

    const { versions } = await api.experiments.listExperimentVersions({ key });
    expect(versions.map((v) => v.action)).toEqual(["create", "start"]);
    const { changes } = await api.experiments.diffExperimentVersions({ key, fromVersion: 1n, toVersion: 2n });
    expect(changes.map((c) => c.path)).toContain("status");

    const results = await api.analysis.getResults({ experimentKey: key });
    expect(results.units.map((u) => u.variantKey)).toEqual(["control", "green"]);
    expect(results.phases.length).toBeGreaterThan(0);
  });

  it("lists audit events and agents", async () => {
    const audit = await api.audit.listAuditEvents({ targetType: "experiment", targetKey: key });
    expect(audit.events.map((e) => e.action)).toContain("experiment.start");
    const fleet = await api.fleet.listAgents({});
    expect(fleet.headRevision).toBeGreaterThan(0n);
  });
});
