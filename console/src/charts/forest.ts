// The forest plot: one row per treatment, its relative lift as a point and its 95%
// confidence interval as a whisker, against a vertical zero line. Colour says whether
// the change is significant and, if so, whether it goes the metric's good way.
//
// `forestLayout` does the geometry (pure numbers, tested); `forestSvg` writes markup.
import { type Direction, goodWay } from "../direction.js";
import { finite, formatSignedPercent } from "../format.js";
import { type RowChartOptions, type RowFrame, ensureWidth, extent, linearScale, pad, px, rowFrame, ticks } from "./scale.js";
import { type Tick, chartSvg, element, rowLabel, text, tickGrid } from "./svg.js";

/** How a row is coloured. */
export type Tone = "good" | "bad" | "neutral";

/** Colours of the tones: green, red, grey (WCAG AA against white). */
export const TONE_COLOURS: Record<Tone, string> = {
  good: "#1a7f37",
  bad: "#c4291c",
  neutral: "#6b7280",
};

/** One treatment of one metric. Lifts and bounds are fractions (0.05 = +5%). */
export interface ForestRow {
  label: string;
  estimate?: number | undefined;
  low?: number | undefined;
  high?: number | undefined;
  significant: boolean;
  /** Words in place of the value when there is no estimate; "not computable" by default. */
  missing?: string | undefined;
}

/** Good when significant in the metric's direction, bad when significant against it. */
export function effectTone(
  estimate: number | undefined,
  significant: boolean,
  direction: Direction,
): Tone {
  if (!significant || estimate === undefined || !Number.isFinite(estimate) || estimate === 0) {
    return "neutral";
  }
  const improves = direction === "increase" ? estimate > 0 : estimate < 0;
  return improves ? "good" : "bad";
}

/** A placed row: x positions are undefined where the value is missing. */
export interface PlacedForestRow {
  label: string;
  y: number;
  x?: number | undefined;
  x1?: number | undefined;
  x2?: number | undefined;
  tone: Tone;
  /** The lift and interval in words, e.g. "+2.1% [−0.5%, +4.7%]", or the row's `missing`. */
  valueText: string;
}

/** Everything needed to draw the plot. */
export interface ForestLayout extends RowFrame {
  domain: [number, number];
  zeroX: number;
  ticks: Tick[];
  rows: PlacedForestRow[];
}

const TOP = 8;
const AXIS = 26;

/** Decimals for percent tick labels so neighbouring ticks differ: a 0.5% step needs 1. */
function tickDecimals(step: number): number {
  const percentStep = Math.abs(step) * 100;
  if (!(percentStep > 0)) return 0;
  return Math.min(3, Math.max(0, Math.ceil(-Math.log10(percentStep) - 1e-9)));
}

/** Places the rows; the domain always includes zero and every finite bound. */
export function forestLayout(
  rows: readonly ForestRow[],
  direction: Direction,
  options: RowChartOptions = {},
): ForestLayout {
  const frame = rowFrame(rows.length, options, {
    labelWidth: 150,
    valueWidth: 170,
    top: TOP,
    axis: AXIS,
  });
  const { rowHeight, plotLeft, plotRight, plotTop } = frame;

  const values = [0];
  for (const row of rows) {
    for (const v of [row.estimate, row.low, row.high]) if (finite(v)) values.push(v);
  }
  const domain = pad(ensureWidth(extent(values) ?? [0, 0]), 0.08);
  const x = linearScale(domain, [plotLeft, plotRight]);
  const tickValues = ticks(domain, 5);
  const step = tickValues.length > 1 ? (tickValues[1] ?? 0) - (tickValues[0] ?? 0) : domain[1] - domain[0];
  const decimals = tickDecimals(step);

  return {
    ...frame,
    domain,
    zeroX: x(0),
    ticks: tickValues.map((t) => ({ x: x(t), label: formatSignedPercent(t, decimals) })),
    rows: rows.map((row, i) => {
      const hasInterval = finite(row.low) && finite(row.high);
      const low = hasInterval ? Math.min(row.low as number, row.high as number) : undefined;
      const high = hasInterval ? Math.max(row.low as number, row.high as number) : undefined;
      return {
        label: row.label,
        y: plotTop + (i + 0.5) * rowHeight,
        x: finite(row.estimate) ? x(row.estimate) : undefined,
        x1: low !== undefined ? x(low) : undefined,
        x2: high !== undefined ? x(high) : undefined,
        tone: effectTone(row.estimate, row.significant, direction),
        valueText: finite(row.estimate)
          ? `${formatSignedPercent(row.estimate)}${
              low !== undefined && high !== undefined
                ? ` [${formatSignedPercent(low)}, ${formatSignedPercent(high)}]`
                : ""
            }`
          : (row.missing ?? "not computable"),
      };
    }),
  };
}

/** The plot as standalone, accessible SVG markup. */
export function forestSvg(
  rows: readonly ForestRow[],
  direction: Direction,
  labels: { title: string; testId?: string },
  options: RowChartOptions = {},
): string {
  const layout = forestLayout(rows, direction, options);
  const description =
    rows.length === 0
      ? "No treatments to compare."
      : `Relative lift against control with 95% confidence intervals; ${goodWay(direction)} is better. ` +
        layout.rows
          .map((r) => {
            const verdict =
              r.tone === "good" ? "significant improvement" : r.tone === "bad" ? "significant harm" : "not significant";
            return r.x === undefined ? `${r.label}: ${r.valueText}.` : `${r.label}: ${r.valueText}, ${verdict}.`;
          })
          .join(" ");

  const parts: string[] = [];

  parts.push(tickGrid(layout.ticks, layout.plotTop, layout.plotBottom, 17));
  parts.push(
    `<line${attrsLine(layout.zeroX, layout.plotTop - 4, layout.zeroX, layout.plotBottom)} class="zero-line" data-role="zero" stroke="#111827" stroke-width="1.5" stroke-dasharray="4 3"/>`,
  );

  for (const row of layout.rows) {
    const colour = TONE_COLOURS[row.tone];
    const inner: string[] = [];
    inner.push(rowLabel(row.label, layout.plotLeft, row.y));
    if (row.x1 !== undefined && row.x2 !== undefined) {
      inner.push(`<line${attrsLine(row.x1, row.y, row.x2, row.y)} class="whisker" stroke="${colour}" stroke-width="2"/>`);
      inner.push(`<line${attrsLine(row.x1, row.y - 5, row.x1, row.y + 5)} class="cap" stroke="${colour}" stroke-width="2"/>`);
      inner.push(`<line${attrsLine(row.x2, row.y - 5, row.x2, row.y + 5)} class="cap" stroke="${colour}" stroke-width="2"/>`);
    }
    if (row.x !== undefined) {
      inner.push(`<circle cx="${px(row.x)}" cy="${px(row.y)}" r="5" class="point" fill="${colour}"/>`);
    }
    inner.push(
      text(
        { x: px(layout.plotRight + 10), y: px(row.y + 4), class: "row-value", fill: colour, "font-size": 12 },
        row.valueText,
      ),
    );
    parts.push(element("g", { class: `forest-row tone-${row.tone}`, "data-variant": row.label, "data-tone": row.tone }, inner.join("")));
  }

  return chartSvg(
    {
      width: layout.width,
      height: layout.height,
      className: "forest-plot",
      testId: labels.testId,
      title: labels.title,
      description,
    },
    parts.join(""),
  );
}

function attrsLine(x1: number, y1: number, x2: number, y2: number): string {
  return ` x1="${px(x1)}" y1="${px(y1)}" x2="${px(x2)}" y2="${px(y2)}"`;
}
