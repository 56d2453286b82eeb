import { describe, expect, it } from "vitest";
import {
  MISSING,
  formatAgo,
  formatBps,
  formatCount,
  formatDurationSeconds,
  formatInterval,
  formatNumber,
  formatPValue,
  formatPercent,
  formatSignedNumber,
  formatSignedPercent,
  formatTime,
  weightShares,
} from "../src/format.js";

describe("counts and numbers", () => {
  it("groups thousands, for numbers and bigints", () => {
    expect(formatCount(1234567)).toBe("1,234,567");
    expect(formatCount(12345678901234567890n)).toBe("12,345,678,901,234,567,890");
    expect(formatCount(-5)).toBe("−5");
  });
  it("keeps significant digits", () => {
    expect(formatNumber(1234.567)).toBe("1,235");
    expect(formatNumber(0.012345)).toBe("0.01235");
    expect(formatNumber(0)).toBe("0");
    expect(formatNumber(-2.5)).toBe("−2.5");
  });
  it("signs numbers", () => {
    expect(formatSignedNumber(0.5)).toBe("+0.5");
    expect(formatSignedNumber(-0.5)).toBe("−0.5");
    expect(formatSignedNumber(0)).toBe("0");
  });
  it("renders non-finite values as a dash, never NaN", () => {
    for (const f of [formatCount, formatNumber, formatPercent, formatSignedPercent, formatBps, formatPValue]) {
      expect(f(Number.NaN)).toBe(MISSING);
      expect(f(Infinity)).toBe(MISSING);
      expect(f(undefined)).toBe(MISSING);
    }
  });
});

describe("percents", () => {
  it("formats fractions", () => {
    expect(formatPercent(0.1234)).toBe("12.3%");
    expect(formatPercent(1)).toBe("100.0%");
    expect(formatPercent(0.5, 0)).toBe("50%");
  });
  it("signs gains and uses a real minus for losses", () => {
    expect(formatSignedPercent(0.021)).toBe("+2.1%");
    expect(formatSignedPercent(-0.5)).toBe("−50.0%");
  });
  it("does not print a signed zero", () => {
    expect(formatSignedPercent(-0.00001)).toBe("0.0%");
    expect(formatSignedPercent(0)).toBe("0.0%");
  });
  it("formats basis points without trailing zeros", () => {
    expect(formatBps(2500)).toBe("25%");
    expect(formatBps(1250)).toBe("12.5%");
    expect(formatBps(1)).toBe("0.01%");
    expect(formatBps(10000)).toBe("100%");
    expect(formatBps(0)).toBe("0%");
  });
  it("formats intervals", () => {
    expect(formatInterval(-0.012, 0.034, (v) => formatSignedPercent(v))).toBe("[−1.2%, +3.4%]");
    expect(formatInterval(undefined, 1, String)).toBe(MISSING);
  });
});

describe("p-values", () => {
  it("clamps tiny values and rounds others", () => {
    expect(formatPValue(0.00001)).toBe("<0.0001");
    expect(formatPValue(0.0432)).toBe("0.043");
    expect(formatPValue(0.00432)).toBe("0.0043");
    expect(formatPValue(0.43)).toBe("0.43");
    expect(formatPValue(1)).toBe("1.00");
  });
  it("keeps two significant digits below 0.1 instead of rounding to 0.01", () => {
    expect(formatPValue(0.0149)).toBe("0.015");
    expect(formatPValue(0.0951)).toBe("0.095");
  });
  it("never rounds across the significance or sample-ratio threshold", () => {
    // 0.0496 is significant (< 0.05): "0.05" or "0.050" next to "significant: yes" misleads.
    expect(formatPValue(0.0496)).toBe("0.0496");
    expect(formatPValue(0.04999)).toBe("0.04999");
    expect(formatPValue(0.05)).toBe("0.050");
    expect(formatPValue(0.000996)).toBe("0.000996");
  });
});

describe("weight shares", () => {
  it("normalises weights", () => {
    expect(weightShares([1, 1, 2])).toEqual([0.25, 0.25, 0.5]);
  });
  it("gives zeros rather than NaN when nothing is positive", () => {
    expect(weightShares([0, 0])).toEqual([0, 0]);
    expect(weightShares([])).toEqual([]);
    expect(weightShares([Number.NaN, 1])).toEqual([0, 1]);
  });
});

describe("time", () => {
  const date = new Date(Date.UTC(2024, 4, 1, 14, 3, 9));
  it("formats in a given zone", () => {
    expect(formatTime(date, "UTC")).toBe("2024-05-01 14:03:09");
    expect(formatTime(date, "UTC", true)).toBe("2024-05-01 14:03:09 UTC");
    expect(formatTime(date, "Asia/Tokyo")).toBe("2024-05-01 23:03:09");
  });
  it("uses a 24-hour clock at midnight", () => {
    expect(formatTime(new Date(Date.UTC(2024, 0, 1, 0, 5, 0)), "UTC")).toBe("2024-01-01 00:05:00");
  });
  it("handles missing and invalid dates", () => {
    expect(formatTime(undefined)).toBe(MISSING);
    expect(formatTime(new Date(Number.NaN))).toBe(MISSING);
  });
  it("says how long ago", () => {
    const now = new Date(Date.UTC(2024, 4, 1, 12, 0, 0));
    const ago = (seconds: number): string => formatAgo(new Date(now.getTime() - seconds * 1000), now);
    expect(ago(10)).toBe("just now");
    expect(ago(5 * 60)).toBe("5 min ago");
    expect(ago(3 * 3600)).toBe("3 h ago");
    expect(ago(3 * 86400)).toBe("3 d ago");
    expect(ago(-60)).toBe("in the future");
  });
  it("formats durations in their largest whole unit", () => {
    expect(formatDurationSeconds(7 * 86400)).toBe("7 d");
    expect(formatDurationSeconds(36 * 3600)).toBe("36 h");
    expect(formatDurationSeconds(5400)).toBe("90 min");
    expect(formatDurationSeconds(45n)).toBe("45 s");
    expect(formatDurationSeconds(0)).toBe("0 s");
  });
});
