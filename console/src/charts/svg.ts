// Small helpers for writing SVG markup as strings. Every piece of text that can come from
// data goes through `escapeXml`, so an experiment or variant named `<script>` stays text.
import { px } from "./scale.js";

/** Escapes the five XML special characters for text and attribute values. */
function escapeXml(text: string): string {
  return text
    .replace(/&/g, "&amp;")
    .replace(/</g, "&lt;")
    .replace(/>/g, "&gt;")
    .replace(/"/g, "&quot;")
    .replace(/'/g, "&#39;");
}

/** Attribute markup from a record; undefined values are left out, all values escaped. */
export function attrs(values: Record<string, string | number | undefined>): string {
  return Object.entries(values)
    .filter((entry): entry is [string, string | number] => entry[1] !== undefined)
    .map(([name, value]) => ` ${name}="${escapeXml(String(value))}"`)
    .join("");
}

/** An element with escaped attributes and already-safe inner markup. */
export function element(
  name: string,
  attributes: Record<string, string | number | undefined>,
  inner = "",
): string {
  return `<${name}${attrs(attributes)}>${inner}</${name}>`;
}

/** A text element: the text is escaped. */
export function text(attributes: Record<string, string | number | undefined>, content: string): string {
  return element("text", attributes, escapeXml(content));
}

/** What every chart's outer `<svg>` says about itself. */
export interface ChartFrame {
  /** Size in user units (also the rendered size in pixels). */
  width: number;
  height: number;
  /** CSS class besides `chart`. */
  className: string;
  /** `data-testid`, for end-to-end tests. */
  testId?: string;
  /** Short name, read first by screen readers and shown as a tooltip. */
  title: string;
  /** The data in words: what a screen reader says instead of the picture. */
  description: string;
}

/**
 * The chart's `<svg>` around `body` (already-safe markup): `role="img"` labelled by a
 * `<title>` and a `<desc>` with document-unique ids, so every chart is readable without
 * seeing it.
 */
export function chartSvg(frame: ChartFrame, body: string): string {
  const titleId = uniqueId(`${frame.className}-title`);
  const descId = uniqueId(`${frame.className}-desc`);
  return element(
    "svg",
    {
      xmlns: "http://www.w3.org/2000/svg",
      viewBox: `0 0 ${px(frame.width)} ${px(frame.height)}`,
      width: px(frame.width),
      height: px(frame.height),
      role: "img",
      "aria-labelledby": `${titleId} ${descId}`,
      class: `chart ${frame.className}`,
      "data-testid": frame.testId,
      "font-family": "system-ui, sans-serif",
    },
    element("title", { id: titleId }, escapeXml(frame.title)) +
      element("desc", { id: descId }, escapeXml(frame.description)) +
      body,
  );
}

let nextId = 0;

/** A document-unique id for aria-labelledby links (prefix plus a counter). */
function uniqueId(prefix: string): string {
  nextId += 1;
  return `${prefix}-${nextId}`;
}

/** Width of one character of 12px system-ui text, generously: digits and most letters fit. */
const CHAR_WIDTH_12PX = 6.5;

/**
 * A row label cut to what fits in `width` user units of 12px text, ending in "…" when cut.
 * Labels are right-aligned against the plot, so an uncut long variant key (up to 64
 * characters) would run off the SVG's left edge and lose its start.
 */
export function fitLabel(label: string, width: number, suffix = ""): string {
  const room = Math.max(4, Math.floor(width / CHAR_WIDTH_12PX)) - suffix.length;
  const chars = Array.from(label);
  const fitted = chars.length <= room ? label : `${chars.slice(0, Math.max(1, room - 1)).join("")}…`;
  return fitted + suffix;
}

/** A label's full text as a tooltip, for a label `fitLabel` may have cut. */
export function tooltip(full: string): string {
  return element("title", {}, escapeXml(full));
}

/** A tick on a chart's horizontal axis: where, and what it says. */
export interface Tick {
  x: number;
  label: string;
}

/** A gridline from `top` to `bottom` at each tick, with its label `labelGap` below `bottom`. */
export function tickGrid(ticks: readonly Tick[], top: number, bottom: number, labelGap: number): string {
  return ticks
    .map(
      (tick) =>
        `<line x1="${px(tick.x)}" y1="${px(top)}" x2="${px(tick.x)}" y2="${px(bottom)}" class="grid" stroke="#e5e7eb" stroke-width="1"/>` +
        text(
          { x: px(tick.x), y: px(bottom + labelGap), "text-anchor": "middle", class: "tick", fill: "#4b5563", "font-size": 11 },
          tick.label,
        ),
    )
    .join("");
}

/**
 * A row's label, right-aligned against the plot at `plotLeft` and centred on `y`, cut to
 * fit with `fitLabel` (`suffix`, e.g. " (control)", always kept), and its full text as a
 * tooltip.
 */
export function rowLabel(label: string, plotLeft: number, y: number, suffix = ""): string {
  return (
    text(
      { x: px(plotLeft - 10), y: px(y + 4), "text-anchor": "end", class: "row-label", fill: "#111827", "font-size": 12 },
      fitLabel(label, plotLeft - 14, suffix),
    ) + tooltip(label + suffix)
  );
}
