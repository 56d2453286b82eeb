import { describe, expect, it } from "vitest";
import { ensureWidth, extent, linearScale, pad, px, tickStep, ticks } from "../src/charts/scale.js";

describe("linearScale", () => {
  it("maps domain ends to range ends", () => {
    const x = linearScale([-1, 1], [100, 300]);
    expect(x(-1)).toBe(100);
    expect(x(0)).toBe(200);
    expect(x(1)).toBe(300);
  });
  it("stays finite on a zero-width domain", () => {
    const x = linearScale([0, 0], [0, 100]);
    expect(Number.isFinite(x(0))).toBe(true);
    expect(x(0)).toBe(50);
    const y = linearScale([5, 5], [0, 100]);
    expect(y(5)).toBe(50);
  });
});

describe("domain helpers", () => {
  it("finds the extent of finite values only", () => {
    expect(extent([3, -1, Number.NaN, Infinity, 2])).toEqual([-1, 3]);
    expect(extent([])).toBeUndefined();
    expect(extent([Number.NaN])).toBeUndefined();
  });
  it("widens degenerate domains", () => {
    expect(ensureWidth([0, 0])).toEqual([-1, 1]);
    expect(ensureWidth([10, 10])).toEqual([9, 11]);
    expect(ensureWidth([2, 1])).toEqual([1, 2]);
    expect(ensureWidth([Number.NaN, 1])).toEqual([0, 1]);
  });
  it("pads both sides", () => {
    expect(pad([0, 10], 0.1)).toEqual([-1, 11]);
  });
});

describe("ticks", () => {
  it("picks round steps", () => {
    expect(tickStep(1, 5)).toBe(0.2);
    expect(tickStep(0.1, 5)).toBeCloseTo(0.02);
    expect(tickStep(100, 4)).toBe(50);
  });
  it("returns round values inside the domain without float noise", () => {
    expect(ticks([0, 1], 5)).toEqual([0, 0.2, 0.4, 0.6, 0.8, 1]);
    expect(ticks([-0.07, 0.13], 4)).toEqual([-0.05, 0, 0.05, 0.1]);
  });
  it("copes with a zero-width domain", () => {
    const values = ticks([0, 0], 5);
    expect(values.length).toBeGreaterThan(0);
    expect(values.every(Number.isFinite)).toBe(true);
  });
  it("writes compact coordinates and no NaN", () => {
    expect(px(1.23456)).toBe("1.23");
    expect(px(-0.001)).toBe("0");
    expect(px(Number.NaN)).toBe("0");
  });
});
