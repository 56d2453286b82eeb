// The units chart: for each variant a bar of its observed share of units, with a marker at
// the share the configured weights lead us to expect. A visible gap between bar end and
// marker is what the sample-ratio check tests for.
//
// `splitLayout` does the geometry (pure numbers, tested); `splitSvg` writes markup.
import { formatCount, formatPercent } from "../format.js";
import { type RowChartOptions, type RowFrame, linearScale, px, rowFrame, ticks } from "./scale.js";
import { type Tick, chartSvg, element, rowLabel, text, tickGrid } from "./svg.js";

/** One variant: its units and expected share (0..1). */
export interface SplitRow {
  label: string;
  units: number;
  expectedShare: number;
  control: boolean;
}

/** A placed variant. */
export interface PlacedSplitRow {
  label: string;
  control: boolean;
  y: number;
  barHeight: number;
  units: number;
  observedShare: number;
  expectedShare: number;
  barWidth: number;
  expectedX: number;
  valueText: string;
}

/** Everything needed to draw the chart. */
export interface SplitLayout extends RowFrame {
  total: number;
  ticks: Tick[];
  rows: PlacedSplitRow[];
}

const TOP = 24; // room for the legend
const AXIS = 24;

function share(value: number): number {
  return Number.isFinite(value) && value > 0 ? value : 0;
}

/** Places the bars; the axis runs from 0 to a little past the largest share (at most 100%). */
export function splitLayout(rows: readonly SplitRow[], options: RowChartOptions = {}): SplitLayout {
  const frame = rowFrame(rows.length, options, {
    labelWidth: 170,
    valueWidth: 200,
    top: TOP,
    axis: AXIS,
  });
  const { rowHeight, plotLeft, plotRight, plotTop } = frame;

  const total = rows.reduce((sum, r) => sum + share(r.units), 0);
  const observed = rows.map((r) => (total > 0 ? share(r.units) / total : 0));
  const expected = rows.map((r) => Math.min(1, share(r.expectedShare)));
  const largest = Math.max(0, ...observed, ...expected);
  const top = largest > 0 ? Math.min(1, largest * 1.15) : 1;
  const x = linearScale([0, top], [plotLeft, plotRight]);
  const barHeight = Math.max(4, rowHeight * 0.6);

  return {
    ...frame,
    total,
    ticks: ticks([0, top], 4).map((t) => ({ x: x(t), label: formatPercent(t, t * 100 < 1 && t > 0 ? 1 : 0) })),
    rows: rows.map((row, i) => {
      const observedShare = observed[i] ?? 0;
      const expectedShare = expected[i] ?? 0;
      return {
        label: row.label,
        control: row.control,
        y: plotTop + i * rowHeight + (rowHeight - barHeight) / 2,
        barHeight,
        units: share(row.units),
        observedShare,
        expectedShare,
        barWidth: x(observedShare) - plotLeft,
        expectedX: x(expectedShare),
        valueText: `${formatCount(share(row.units))} · ${formatPercent(observedShare)} (exp. ${formatPercent(expectedShare)})`,
      };
    }),
  };
}

/** The chart as standalone, accessible SVG markup; `mismatch` colours the bars as a warning. */
export function splitSvg(
  rows: readonly SplitRow[],
  labels: { title: string; testId?: string; mismatch?: boolean },
  options: RowChartOptions = {},
): string {
  const layout = splitLayout(rows, options);
  const barColour = labels.mismatch ? "#c4291c" : "#2563eb";
  const description =
    rows.length === 0
      ? "No variants."
      : `${formatCount(layout.total)} units in total. ` +
        layout.rows
          .map(
            (r) =>
              `${r.label}${r.control ? " (control)" : ""}: ${formatCount(r.units)} units, ${formatPercent(r.observedShare)} observed against ${formatPercent(r.expectedShare)} expected.`,
          )
          .join(" ");

  const parts: string[] = [];
  // Legend.
  parts.push(`<rect x="${px(layout.plotLeft)}" y="4" width="12" height="10" fill="${barColour}" rx="2"/>`);
  parts.push(text({ x: px(layout.plotLeft + 18), y: 13, "font-size": 11, fill: "#374151" }, "observed share"));
  parts.push(`<line x1="${px(layout.plotLeft + 130)}" y1="3" x2="${px(layout.plotLeft + 130)}" y2="15" stroke="#111827" stroke-width="2.5"/>`);
  parts.push(text({ x: px(layout.plotLeft + 138), y: 13, "font-size": 11, fill: "#374151" }, "expected share"));

  parts.push(tickGrid(layout.ticks, layout.plotTop, layout.plotBottom, 16));
  for (const row of layout.rows) {
    const mid = row.y + row.barHeight / 2;
    const inner = [
      rowLabel(row.label, layout.plotLeft, mid, row.control ? " (control)" : ""),
      `<rect x="${px(layout.plotLeft)}" y="${px(row.y)}" width="${px(Math.max(0, row.barWidth))}" height="${px(row.barHeight)}" class="bar" fill="${barColour}" fill-opacity="0.85" rx="2"/>`,
      `<line x1="${px(row.expectedX)}" y1="${px(row.y - 4)}" x2="${px(row.expectedX)}" y2="${px(row.y + row.barHeight + 4)}" class="expected" stroke="#111827" stroke-width="2.5"/>`,
      text({ x: px(layout.plotRight + 10), y: px(mid + 4), class: "row-value", "font-size": 12, fill: "#374151" }, row.valueText),
    ];
    parts.push(element("g", { class: "split-row", "data-variant": row.label }, inner.join("")));
  }
  parts.push(
    `<line x1="${px(layout.plotLeft)}" y1="${px(layout.plotTop)}" x2="${px(layout.plotLeft)}" y2="${px(layout.plotBottom)}" stroke="#9ca3af" stroke-width="1"/>`,
  );

  return chartSvg(
    {
      width: layout.width,
      height: layout.height,
      className: "units-chart",
      testId: labels.testId,
      title: labels.title,
      description,
    },
    parts.join(""),
  );
}
