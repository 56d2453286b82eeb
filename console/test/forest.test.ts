import { describe, expect, it } from "vitest";
import { type ForestRow, TONE_COLOURS, effectTone, forestLayout, forestSvg } from "../src/charts/forest.js";
import { linearScale } from "../src/charts/scale.js";

const rows: ForestRow[] = [
  { label: "b", estimate: 0.05, low: 0.01, high: 0.09, significant: true },
  { label: "c", estimate: -0.02, low: -0.06, high: 0.02, significant: false },
];

describe("effectTone", () => {
  it("is good when significant in the good direction and bad against it", () => {
    expect(effectTone(0.05, true, "increase")).toBe("good");
    expect(effectTone(-0.05, true, "increase")).toBe("bad");
    expect(effectTone(-0.05, true, "decrease")).toBe("good");
    expect(effectTone(0.05, true, "decrease")).toBe("bad");
  });
  it("is neutral when not significant or not computable", () => {
    expect(effectTone(0.05, false, "increase")).toBe("neutral");
    expect(effectTone(undefined, true, "increase")).toBe("neutral");
    expect(effectTone(Number.NaN, true, "increase")).toBe("neutral");
  });
});

describe("forestLayout", () => {
  const layout = forestLayout(rows, "increase", { width: 600, labelWidth: 100, valueWidth: 100 });

  it("includes zero and every bound in the domain", () => {
    expect(layout.domain[0]).toBeLessThan(-0.06);
    expect(layout.domain[1]).toBeGreaterThan(0.09);
  });
  it("maps whisker ends and the zero line through the same scale", () => {
    const x = linearScale(layout.domain, [layout.plotLeft, layout.plotRight]);
    const [b, c] = layout.rows;
    expect(b?.x1).toBeCloseTo(x(0.01));
    expect(b?.x2).toBeCloseTo(x(0.09));
    expect(b?.x).toBeCloseTo(x(0.05));
    expect(c?.x1).toBeCloseTo(x(-0.06));
    expect(layout.zeroX).toBeCloseTo(x(0));
    // Zero lies between c's whisker ends, and left of b's whole interval.
    expect(c!.x1!).toBeLessThan(layout.zeroX);
    expect(c!.x2!).toBeGreaterThan(layout.zeroX);
    expect(b!.x1!).toBeGreaterThan(layout.zeroX);
  });
  it("keeps every point inside the plot area", () => {
    for (const r of layout.rows) {
      for (const v of [r.x, r.x1, r.x2]) {
        expect(v).toBeGreaterThanOrEqual(layout.plotLeft);
        expect(v).toBeLessThanOrEqual(layout.plotRight);
      }
    }
  });
  it("puts rows one below another", () => {
    expect(layout.rows[1]!.y).toBeGreaterThan(layout.rows[0]!.y);
  });
  it("labels ticks as signed percents", () => {
    expect(layout.ticks.map((t) => t.label)).toContain("0%");
    expect(layout.ticks.some((t) => t.label.startsWith("+"))).toBe(true);
  });
  it("describes each row's value", () => {
    expect(layout.rows[0]?.valueText).toBe("+5.0% [+1.0%, +9.0%]");
  });
  it("swaps reversed bounds", () => {
    const [r] = forestLayout([{ label: "x", estimate: 0, low: 0.1, high: -0.1, significant: false }], "increase").rows;
    expect(r!.x1!).toBeLessThan(r!.x2!);
  });
});

describe("degenerate inputs", () => {
  const noNaN = (svg: string): void => {
    expect(svg).not.toMatch(/NaN|Infinity|undefined/);
  };
  it("handles zero-width intervals at zero", () => {
    const only: ForestRow[] = [{ label: "b", estimate: 0, low: 0, high: 0, significant: false }];
    const layout = forestLayout(only, "increase");
    expect(Number.isFinite(layout.zeroX)).toBe(true);
    expect(layout.rows[0]?.x1).toBe(layout.rows[0]?.x2);
    noNaN(forestSvg(only, "increase", { title: "t" }));
  });
  it("handles all-equal non-zero values", () => {
    const same: ForestRow[] = [
      { label: "b", estimate: 0.1, low: 0.1, high: 0.1, significant: true },
      { label: "c", estimate: 0.1, low: 0.1, high: 0.1, significant: true },
    ];
    noNaN(forestSvg(same, "decrease", { title: "t" }));
  });
  it("handles no rows and missing comparisons", () => {
    noNaN(forestSvg([], "increase", { title: "t" }));
    const missing: ForestRow[] = [{ label: "b", significant: false }];
    const layout = forestLayout(missing, "increase");
    expect(layout.rows[0]?.x).toBeUndefined();
    expect(layout.rows[0]?.valueText).toBe("not computable");
    const svg = forestSvg(missing, "increase", { title: "t" });
    noNaN(svg);
    expect(svg).not.toContain("<circle");
  });
  it("says why a row has no relative lift instead of calling it not computable", () => {
    // The control's value is 0: the comparison exists, but no relative lift does.
    const noLift: ForestRow[] = [{ label: "b", significant: true, missing: "no relative lift (control is 0)" }];
    expect(forestLayout(noLift, "increase").rows[0]?.valueText).toBe("no relative lift (control is 0)");
    const svg = forestSvg(noLift, "increase", { title: "t" });
    expect(svg).toContain("b: no relative lift (control is 0).");
    expect(svg).not.toContain("not computable");
  });
});

describe("forestSvg", () => {
  const svg = forestSvg(rows, "increase", { title: "Relative lift of <ctr>", testId: "forest-plot" });
  it("is an accessible image with a title and a description of the data", () => {
    expect(svg).toMatch(/^<svg[^>]* role="img"/);
    expect(svg).toContain('data-testid="forest-plot"');
    const [titleId, descId] = /aria-labelledby="([^" ]+) ([^"]+)"/.exec(svg)?.slice(1) ?? [];
    expect(svg).toContain(`<title id="${titleId}">Relative lift of &lt;ctr&gt;</title>`);
    expect(svg).toContain(`<desc id="${descId}">Relative lift against control`);
    expect(svg).toContain("b: +5.0% [+1.0%, +9.0%], significant improvement.");
    expect(svg).toContain("c: −2.0% [−6.0%, +2.0%], not significant.");
  });
  it("colours rows by tone", () => {
    expect(svg).toMatch(new RegExp(`data-variant="b" data-tone="good">.*?stroke="${TONE_COLOURS.good}"`));
    expect(svg).toMatch(new RegExp(`data-variant="c" data-tone="neutral">.*?stroke="${TONE_COLOURS.neutral}"`));
  });
  it("escapes variant labels", () => {
    const out = forestSvg([{ label: '<script>"x"', estimate: 0.1, low: 0, high: 0.2, significant: false }], "increase", {
      title: "t",
    });
    expect(out).not.toContain("<script>");
    expect(out).toContain("&lt;script&gt;&quot;x&quot;");
  });
  it("cuts a long variant key to fit left of the plot and keeps it whole in a tooltip", () => {
    const key = "cross_category_candidates_v2";
    const out = forestSvg([{ label: key, estimate: 0.1, low: 0, high: 0.2, significant: false }], "increase", { title: "t" });
    expect(out).toContain(">cross_category_cand…</text>");
    expect(out).toContain(`<title>${key}</title>`);
  });
  it("draws the zero line", () => {
    expect(svg).toMatch(/class="zero-line" data-role="zero"/);
  });
});
