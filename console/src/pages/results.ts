// Results of one experiment for one phase: the trust checks first (sample ratio, units in
// several variants, forced exposures), then units per variant, guardrails, and each metric
// as a table and a forest plot of the treatments' relative lifts.
import { timestampDate } from "@bufbuild/protobuf/wkt";
import { describeError, isNoResultsYet } from "../api/errors.js";
import { forestSvg } from "../charts/forest.js";
import { type Direction, directionOf, goodWay } from "../direction.js";
import { splitSvg } from "../charts/split.js";
import { h, loading, pill, replaceChildren, row, svgNode, table } from "../dom.js";
import type { GetResultsResponse, GuardrailCheck, MetricResult } from "../gen/vary/v1/analysis_pb.js";
import { GuardrailAction, MetricKind } from "../gen/vary/v1/experiment_pb.js";
import { formatCount, formatInterval, formatNumber, formatPValue, formatPercent, formatSignedPercent, formatTime } from "../format.js";
import { enumLabel } from "../lifecycle.js";
import { forestRowOf, formatAbsoluteInterval, formatAbsoluteLift, formatMetricValue, significanceLabel } from "../metrics.js";
import { routeHref } from "../router.js";
import type { PageContext } from "./context.js";
import { failure, rolePill, timeCell } from "./widgets.js";

/** Draws the results of `key` for `phase` (the current phase when undefined). */
export async function renderResults(ctx: PageContext, key: string, phase: number | undefined): Promise<void> {
  const crumbs = h(
    "p",
    { class: "crumbs" },
    h("a", { href: routeHref({ page: "experiments" }) }, "← Experiments"),
    " / ",
    h("a", { href: routeHref({ page: "experiment", key }) }, key),
  );
  replaceChildren(ctx.view, crumbs, loading("results"));
  let results: GetResultsResponse;
  try {
    results = await ctx.api.analysis.getResults({ experimentKey: key, phase: phase ?? 0 });
  } catch (error) {
    if (!ctx.isCurrent()) return;
    replaceChildren(ctx.view, crumbs, h("h1", null, `Results: ${key}`), isNoResultsYet(error) ? noResultsYet(error) : failure(error));
    return;
  }
  if (!ctx.isCurrent()) return;

  const phaseSelect = h(
    "select",
    {
      id: "phase",
      "data-testid": "phase-select",
      onchange: () => ctx.navigate({ page: "results", key, phase: Number(phaseSelect.value) }),
    },
    results.phases.map((p) =>
      h(
        "option",
        { value: String(p.number), selected: p.number === results.phase },
        `Phase ${p.number}: ${p.reason || "start"}, from ${p.startTime ? formatTime(timestampDate(p.startTime)) : "?"}${
          p.endTime ? ` to ${formatTime(timestampDate(p.endTime))}` : " (current)"
        }`,
      ),
    ),
  );

  replaceChildren(
    ctx.view,
    crumbs,
    h(
      "div",
      { class: "page-head" },
      h("div", null, h("h1", null, `Results: ${key}`), h("p", { class: "subtitle" }, `version ${results.version} · computed `, timeCell(results.computeTime))),
      results.phases.length > 0 ? h("div", { class: "filters" }, h("label", { for: "phase" }, "Phase"), phaseSelect) : null,
    ),
    trustSection(results),
    guardrailsSection(results.guardrails),
    results.metrics.map((m) => metricSection(m, controlKeys(results))),
    results.metrics.length === 0 ? h("p", { class: "muted" }, "This experiment has no metrics.") : null,
  );
}

/** The empty state of a draft: results exist from the first start on. */
function noResultsYet(error: unknown): HTMLElement {
  return h(
    "section",
    { class: "card empty-state", "data-testid": "results-empty" },
    h("h2", null, "No results yet"),
    h("p", null, "Results are computed from the first time the experiment is started. Start it from its page, then come back once units have been exposed."),
    h("p", { class: "muted small" }, describeError(error).detail),
  );
}

function trustSection(results: GetResultsResponse): HTMLElement {
  const srm = results.sampleRatio;
  const totalUnits = results.units.reduce((sum, u) => sum + u.units, 0n);
  const badge =
    totalUnits === 0n || !srm
      ? h(
          "div",
          { class: "badge badge-muted", "data-testid": "srm-badge", "data-mismatch": "unknown" },
          totalUnits === 0n ? "No units yet: nothing to check." : "The sample-ratio check could not be computed for this split.",
        )
      : srm.mismatch
        ? h(
            "div",
            { class: "badge badge-bad", role: "alert", "data-testid": "srm-badge", "data-mismatch": "true" },
            h("strong", null, "⚠ Sample ratio mismatch: do not trust these results."),
            ` The units per variant do not match the configured split (χ² = ${formatNumber(srm.chiSquare)}, p = ${formatPValue(srm.pValue)}). Look for a bug in assignment, logging or eligibility before reading any metric.`,
          )
        : h(
            "div",
            { class: "badge badge-good", "data-testid": "srm-badge", "data-mismatch": "false" },
            h("strong", null, "✓ Sample ratio OK."),
            ` The split matches the configured weights (χ² = ${formatNumber(srm.chiSquare)}, p = ${formatPValue(srm.pValue)}).`,
          );
  const several = results.unitsInSeveralVariants;
  const forced = results.forcedExposures;
  return h(
    "section",
    { class: "card" },
    h("h2", null, "Can these numbers be trusted?"),
    badge,
    h(
      "dl",
      { class: "stats" },
      h("div", null, h("dt", null, "Units analysed"), h("dd", { "data-testid": "total-units" }, formatCount(totalUnits))),
      h(
        "div",
        { class: several > 0n ? "warn" : null },
        h("dt", null, "Units in several variants"),
        h("dd", { "data-testid": "units-in-several-variants" }, formatCount(several)),
      ),
      h("div", null, h("dt", null, "Forced (QA) exposures"), h("dd", { "data-testid": "forced-exposures" }, formatCount(forced))),
    ),
    h("p", { class: "muted small" }, "Units exposed to several variants and forced exposures are excluded from everything below."),
    h("h3", null, "Units per variant"),
    svgNode(
      splitSvg(
        results.units.map((u) => ({ label: u.variantKey, units: Number(u.units), expectedShare: u.expectedShare, control: u.control })),
        { title: "Observed share of units per variant against the expected share", testId: "units-chart", mismatch: srm?.mismatch ?? false },
      ),
    ),
  );
}

function guardrailsSection(checks: readonly GuardrailCheck[]): HTMLElement | null {
  if (checks.length === 0) return null;
  const breached = checks.filter((c) => c.breached).length;
  return h(
    "section",
    { class: "card" },
    h("h2", null, "Guardrails ", breached > 0 ? pill(`${breached} breached`, "red") : pill("none breached", "green")),
    table(
      ["Metric", "Treatment", "Tolerated degradation", "Action", "Breached", "Evidence"],
      checks.map((c) =>
        row(
          { class: c.breached ? "breached" : null, "data-testid": "guardrail-row", "data-breached": String(c.breached) },
          h("code", null, c.metricKey),
          h("code", null, c.variantKey),
          formatPercent(c.maxRelativeDegradation, 1),
          enumLabel(GuardrailAction, c.action),
          c.breached ? pill("breached", "red") : pill("ok", "green"),
          c.detail,
        ),
      ),
      { numeric: [2], testId: "guardrails" },
    ),
  );
}

/** The control's variant key(s), from the units list, which flags it. */
function controlKeys(results: GetResultsResponse): Set<string> {
  return new Set(results.units.filter((u) => u.control).map((u) => u.variantKey));
}

const TONE_PILLS = { good: "green", bad: "red", neutral: "grey" } as const;

function significanceCell(significant: boolean, absoluteLift: number, direction: Direction): HTMLElement | string {
  const label = significanceLabel(significant, absoluteLift, direction);
  return significant ? pill(label.text, TONE_PILLS[label.tone]) : label.text;
}

function metricSection(metric: MetricResult, controls: ReadonlySet<string>): HTMLElement {
  const direction = directionOf(metric.direction);
  const control = metric.variants.find((v) => controls.has(v.variantKey));
  const treatments = metric.variants.filter((v) => v !== control);
  const forestRows = treatments.map(forestRowOf);
  const kind = metric.kind;
  const rows = metric.variants.map((v) => {
    const c = v.comparison;
    return row(
      { "data-variant": v.variantKey },
      h("code", null, v.variantKey),
      formatCount(v.units),
      formatMetricValue(kind, v.value),
      c ? formatAbsoluteLift(kind, c.absoluteLift) : v === control ? h("span", { class: "muted" }, "control") : "—",
      c ? formatAbsoluteInterval(kind, c.absoluteCi?.low, c.absoluteCi?.high) : "",
      c ? formatSignedPercent(c.relativeLift) : "",
      c && c.relativeLift !== undefined ? formatInterval(c.relativeCi?.low, c.relativeCi?.high, (x) => formatSignedPercent(x)) : "",
      c ? formatPValue(c.pValue) : "",
      c ? formatPValue(c.adjustedPValue) : "",
      c ? significanceCell(c.significant, c.absoluteLift, direction) : v.notComputableReason ? h("span", { class: "muted", title: v.notComputableReason }, `not computable: ${v.notComputableReason}`) : "",
    );
  });
  return h(
    "section",
    { class: "card metric", "data-testid": "metric-section", "data-metric": metric.metricKey },
    h(
      "h2",
      null,
      h("code", null, metric.metricKey),
      " ",
      rolePill(metric.role),
    ),
    h(
      "p",
      { class: "muted small" },
      `${enumLabel(MetricKind, kind)} · ${goodWay(direction)} is better · 95% confidence intervals; p adjusted (Holm) over this metric's treatments; significant when adjusted p < 0.05.`,
    ),
    table(
      ["Variant", "Units", "Value", "Abs. lift", "95% CI", "Rel. lift", "95% CI", "p", "Adj. p", "Significant"],
      rows,
      { numeric: [1, 2, 3, 4, 5, 6, 7, 8], testId: "metric-table" },
    ),
    treatments.length > 0
      ? svgNode(
          forestSvg(forestRows, direction, { title: `Relative lift of ${metric.metricKey} per treatment against control`, testId: "forest-plot" }),
        )
      : null,
  );
}
