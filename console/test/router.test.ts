import { describe, expect, it } from "vitest";
import { type Route, parseRoute, routeHref } from "../src/router.js";

describe("parseRoute", () => {
  it("defaults to the experiment list", () => {
    expect(parseRoute("")).toEqual({ page: "experiments" });
    expect(parseRoute("#/")).toEqual({ page: "experiments" });
    expect(parseRoute("#")).toEqual({ page: "experiments" });
  });
  it("reads pages and parameters", () => {
    expect(parseRoute("#/signin")).toEqual({ page: "signin" });
    expect(parseRoute("#/experiments?status=RUNNING")).toEqual({ page: "experiments", status: "RUNNING" });
    expect(parseRoute("#/experiments/checkout-cta")).toEqual({ page: "experiment", key: "checkout-cta" });
    expect(parseRoute("#/experiments/checkout-cta/results")).toEqual({ page: "results", key: "checkout-cta" });
    expect(parseRoute("#/experiments/a/results?phase=2")).toEqual({ page: "results", key: "a", phase: 2 });
    expect(parseRoute("#/audit")).toEqual({ page: "audit" });
    expect(parseRoute("#/fleet")).toEqual({ page: "fleet" });
  });
  it("ignores bad phases", () => {
    expect(parseRoute("#/experiments/a/results?phase=zero")).toEqual({ page: "results", key: "a" });
    expect(parseRoute("#/experiments/a/results?phase=-1")).toEqual({ page: "results", key: "a" });
  });
  it("reports unknown paths", () => {
    expect(parseRoute("#/nope")).toEqual({ page: "notFound", path: "/nope" });
    expect(parseRoute("#/experiments/a/b")).toEqual({ page: "notFound", path: "/experiments/a/b" });
    expect(parseRoute("#/experiments/%E0%A4%A")).toEqual({ page: "notFound", path: "/experiments/%E0%A4%A" });
  });
});

describe("routeHref", () => {
  const routes: Route[] = [
    { page: "signin" },
    { page: "experiments" },
    { page: "experiments", status: "PAUSED" },
    { page: "experiment", key: "checkout-cta" },
    { page: "experiment", key: "odd key/with?chars" },
    { page: "results", key: "a" },
    { page: "results", key: "a", phase: 3 },
    { page: "audit" },
    { page: "fleet" },
  ];
  it("is the inverse of parseRoute", () => {
    for (const route of routes) expect(parseRoute(routeHref(route))).toEqual(route);
  });
  it("escapes keys", () => {
    expect(routeHref({ page: "experiment", key: "a/b" })).toBe("#/experiments/a%2Fb");
  });
});
