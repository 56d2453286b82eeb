import { describe, expect, it } from "vitest";
import { type SplitRow, splitLayout, splitSvg } from "../src/charts/split.js";

const rows: SplitRow[] = [
  { label: "control", units: 600, expectedShare: 0.5, control: true },
  { label: "treatment", units: 400, expectedShare: 0.5, control: false },
];

describe("splitLayout", () => {
  const layout = splitLayout(rows, { width: 600, labelWidth: 100, valueWidth: 100 });
  it("computes observed shares from units", () => {
    expect(layout.total).toBe(1000);
    expect(layout.rows.map((r) => r.observedShare)).toEqual([0.6, 0.4]);
  });
  it("draws bars proportional to observed share and the marker at the expected share", () => {
    const [a, b] = layout.rows;
    expect(a!.barWidth / b!.barWidth).toBeCloseTo(1.5);
    expect(a!.expectedX).toBe(b!.expectedX);
    // 50% expected lies between the 40% bar's end and the 60% bar's end.
    expect(a!.expectedX).toBeLessThan(layout.plotLeft + a!.barWidth);
    expect(a!.expectedX).toBeGreaterThan(layout.plotLeft + b!.barWidth);
  });
  it("fits the largest share inside the plot", () => {
    for (const r of layout.rows) expect(layout.plotLeft + r.barWidth).toBeLessThanOrEqual(layout.plotRight);
  });
  it("writes readable values", () => {
    expect(layout.rows[0]?.valueText).toBe("600 · 60.0% (exp. 50.0%)");
  });
});

describe("degenerate inputs", () => {
  it("has zero-width bars and no NaN when there are no units", () => {
    const empty = rows.map((r) => ({ ...r, units: 0 }));
    const layout = splitLayout(empty);
    expect(layout.rows.every((r) => r.barWidth === 0)).toBe(true);
    expect(splitSvg(empty, { title: "t" })).not.toMatch(/NaN|Infinity/);
  });
  it("copes with no variants and with bad numbers", () => {
    expect(splitSvg([], { title: "t" })).not.toMatch(/NaN|Infinity/);
    const bad: SplitRow[] = [{ label: "x", units: Number.NaN, expectedShare: Number.NaN, control: true }];
    expect(splitSvg(bad, { title: "t" })).not.toMatch(/NaN|Infinity/);
  });
});

describe("splitSvg", () => {
  it("is an accessible image describing every variant", () => {
    const svg = splitSvg(rows, { title: "Units per variant", testId: "units-chart" });
    expect(svg).toMatch(/^<svg[^>]* role="img"/);
    expect(svg).toContain('data-testid="units-chart"');
    expect(svg).toContain("control (control): 600 units, 60.0% observed against 50.0% expected.");
  });
  it("turns the bars red on a mismatch", () => {
    expect(splitSvg(rows, { title: "t", mismatch: true })).toContain('fill="#c4291c"');
    expect(splitSvg(rows, { title: "t" })).not.toContain('fill="#c4291c"');
  });
  it("cuts long labels to fit left of the plot, keeping '(control)' and the full text as a tooltip", () => {
    const long: SplitRow[] = [
      { label: "same_category_with_a_long_name", units: 1, expectedShare: 0.5, control: true },
      { label: "<b>", units: 1, expectedShare: 0.5, control: false },
    ];
    const svg = splitSvg(long, { title: "t" });
    expect(svg).toContain(">same_category… (control)</text>");
    expect(svg).toContain("<title>same_category_with_a_long_name (control)</title>");
    expect(svg).toContain(">&lt;b&gt;</text>");
  });
});
