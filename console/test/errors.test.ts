import { Code, ConnectError } from "@connectrpc/connect";
import { describe, expect, it } from "vitest";
import { describeError, isNoResultsYet, isUnauthenticated } from "../src/api/errors.js";

describe("describeError", () => {
  it("says an unauthenticated token was not accepted", () => {
    const view = describeError(new ConnectError("invalid token", Code.Unauthenticated));
    expect(view.code).toBe(Code.Unauthenticated);
    expect(view.title).toBe("Token not accepted");
    expect(view.detail).toBe("invalid token");
  });
  it("names permission, precondition and conflict failures and keeps the server's words", () => {
    expect(describeError(new ConnectError("role viewer", Code.PermissionDenied)).title).toBe("Permission denied");
    const precondition = describeError(
      new ConnectError("cannot pause an experiment in status DRAFT", Code.FailedPrecondition),
    );
    expect(precondition.title).toBe("Not possible right now");
    expect(precondition.detail).toBe("cannot pause an experiment in status DRAFT");
    expect(describeError(new ConnectError("stale", Code.Aborted)).title).toBe("Conflicting change");
  });
  it("has a headline for every code", () => {
    for (const code of Object.values(Code).filter((c): c is Code => typeof c === "number")) {
      const view = describeError(new ConnectError("x", code));
      expect(view.title.length).toBeGreaterThan(0);
      expect(view.title).not.toBe("Request failed");
    }
  });
  it("treats anything else as an unexpected error", () => {
    const view = describeError(new TypeError("Failed to fetch"));
    expect(view.code).toBe(Code.Unknown);
    expect(view.detail).toBe("Failed to fetch");
  });
  it("recognises unauthenticated errors", () => {
    expect(isUnauthenticated(new ConnectError("x", Code.Unauthenticated))).toBe(true);
    expect(isUnauthenticated(new ConnectError("x", Code.PermissionDenied))).toBe(false);
  });
  it("recognises GetResults on an experiment that never ran", () => {
    const notStarted = new ConnectError('experiment "checkout" has not run yet: no results before it is started', Code.FailedPrecondition);
    expect(isNoResultsYet(notStarted)).toBe(true);
    expect(isNoResultsYet(new ConnectError("no such experiment", Code.NotFound))).toBe(false);
  });
});
