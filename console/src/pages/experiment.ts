// One experiment: its spec, its version history with diffs, and the lifecycle buttons.
import { toJson } from "@bufbuild/protobuf";
import { type Timestamp, ValueSchema, timestampDate } from "@bufbuild/protobuf/wkt";
import { describeError } from "../api/errors.js";
import { type Child, errorBox, facts, h, loading, pill, replaceChildren, row, table } from "../dom.js";
import type { Experiment, ExperimentVersion, FieldChange, Metric, RuleGroup, Variant } from "../gen/vary/v1/experiment_pb.js";
import { MetricKind, Operator } from "../gen/vary/v1/experiment_pb.js";
import { formatBps, formatDurationSeconds, formatPercent, formatTime, prettyJson, weightShares } from "../format.js";
import { directionOf, goodWay } from "../direction.js";
import { enumLabel } from "../lifecycle.js";
import { guardrailText } from "../metrics.js";
import { type Collected, collectPages } from "../pager.js";
import { routeHref } from "../router.js";
import type { PageContext } from "./context.js";
import { lifecycleSection } from "./lifecycle-panel.js";
import { failure, rolePill, statusPill, timeCell } from "./widgets.js";

/** Draws the detail page of `key`. */
export async function renderExperiment(ctx: PageContext, key: string): Promise<void> {
  replaceChildren(ctx.view, loading(`experiment ${key}`));
  let experiment: Experiment | undefined;
  let versions: Collected<ExperimentVersion>;
  try {
    const [got, listed] = await Promise.all([
      ctx.api.experiments.getExperiment({ key }),
      listAllVersions(ctx, key),
    ]);
    experiment = got.experiment;
    versions = listed;
  } catch (error) {
    if (ctx.isCurrent()) replaceChildren(ctx.view, backLink(), failure(error));
    return;
  }
  if (!ctx.isCurrent()) return;
  if (!experiment) {
    replaceChildren(ctx.view, backLink(), h("p", null, "The control plane returned no experiment."));
    return;
  }
  const spec = experiment.spec;
  const current = experiment;

  replaceChildren(
    ctx.view,
    backLink(),
    h(
      "div",
      { class: "page-head" },
      h(
        "div",
        null,
        h("h1", null, spec?.name || experiment.key),
        h(
          "p",
          { class: "subtitle" },
          h("code", null, experiment.key),
          " · ",
          statusPill(experiment.status, "experiment-status"),
          " · version ",
          h("span", { "data-testid": "experiment-version" }, String(experiment.version)),
          " · revision ",
          String(experiment.revision),
        ),
      ),
      h(
        "div",
        { class: "head-actions" },
        h("a", { class: "button", href: routeHref({ page: "results", key: experiment.key }), "data-testid": "results-link" }, "Results →"),
      ),
    ),
    lifecycleSection(ctx, current, () => renderExperiment(ctx, current.key)),
    spec
      ? [
          h(
            "section",
            { class: "card" },
            h("h2", null, "Overview"),
            spec.hypothesis ? [h("h3", null, "Hypothesis"), h("p", { class: "prose" }, spec.hypothesis)] : null,
            spec.description ? [h("h3", null, "Description"), h("p", { class: "prose" }, spec.description)] : null,
            facts([
              ["Owner", spec.owner || "—"],
              ["Allocation", formatBps(spec.allocationBps)],
              ["Layer", spec.layer ? h("span", null, h("code", null, spec.layer), spec.layerRange ? ` buckets [${spec.layerRange.start}, ${spec.layerRange.end})` : " (whole range)") : "none"],
              ["Placements", spec.placements.length ? spec.placements.join(", ") : "all"],
              ["Schedule", scheduleText(spec.schedule?.startTime, spec.schedule?.endTime)],
              ["Salt", spec.salt ? h("code", null, spec.salt) : "the key"],
              ["Rollout variant", experiment.rolloutVariantKey ? h("code", null, experiment.rolloutVariantKey) : "—"],
              ["QA overrides", String(Object.keys(spec.overrides).length)],
              ["Created", timeCell(experiment.createTime)],
              ["Updated", timeCell(experiment.updateTime)],
            ]),
          ),
          variantsSection(spec.variants),
          h("section", { class: "card" }, h("h2", null, "Eligibility"), eligibility(spec.eligibility)),
          metricsSection(spec.metrics),
        ]
      : null,
    versionsSection(ctx, experiment.key, versions),
  );
}

function backLink(): HTMLElement {
  return h("p", { class: "crumbs" }, h("a", { href: routeHref({ page: "experiments" }) }, "← Experiments"));
}

/** Pages of versions read before the history is shown as cut off. */
const MAX_VERSION_PAGES = 20;

/** The version history, oldest first; capped so a runaway history cannot hang the page. */
function listAllVersions(ctx: PageContext, key: string): Promise<Collected<ExperimentVersion>> {
  return collectPages(async (pageToken) => {
    const response = await ctx.api.experiments.listExperimentVersions({ key, pageSize: 1000, pageToken });
    return { items: response.versions, nextPageToken: response.nextPageToken };
  }, MAX_VERSION_PAGES);
}

function scheduleText(start: Timestamp | undefined, end: Timestamp | undefined): string {
  if (!start && !end) return "always (no window)";
  const from = start ? formatTime(timestampDate(start)) : "the start";
  const to = end ? formatTime(timestampDate(end)) : "open-ended";
  return `${from} → ${to}`;
}

function variantsSection(variants: readonly Variant[]): HTMLElement {
  const shares = weightShares(variants.map((v) => v.weight));
  return h(
    "section",
    { class: "card" },
    h("h2", null, "Variants"),
    table(
      ["Key", "Role", "Weight", "Share", "Description", "Parameters"],
      variants.map((v, i) =>
        row(
          { "data-testid": "variant-row", "data-key": v.key },
          h("code", null, v.key),
          v.control ? pill("control", "blue") : "treatment",
          String(v.weight),
          formatPercent(shares[i], 1),
          v.description || "—",
          v.params && Object.keys(v.params).length > 0 ? h("pre", { class: "json" }, prettyJson(v.params)) : h("span", { class: "muted" }, "none"),
        ),
      ),
      { numeric: [2, 3] },
    ),
  );
}

function eligibility(groups: readonly RuleGroup[]): Child {
  if (groups.length === 0) return h("p", null, "Everyone is eligible.");
  return [
    h("p", { class: "muted" }, "A unit is eligible when any group holds; a group holds when all its conditions hold."),
    h(
      "ol",
      { class: "rules" },
      groups.map((g) =>
        h(
          "li",
          null,
          g.conditions.map((c, i) => [
            i > 0 ? h("span", { class: "and" }, " and ") : null,
            h("code", null, c.attribute),
            ` ${enumLabel(Operator, c.operator)} `,
            c.values.length ? c.values.map((v, j) => [j > 0 ? ", " : null, h("code", null, v)]) : null,
          ]),
        ),
      ),
    ),
  ];
}

function metricsSection(metrics: readonly Metric[]): HTMLElement {
  return h(
    "section",
    { class: "card" },
    h("h2", null, "Metrics"),
    table(
      ["Key", "Role", "Kind", "Event", "Denominator", "Window", "Good when", "Guardrail"],
      metrics.map((m) =>
        row(
          null,
          h("code", null, m.key),
          rolePill(m.role),
          enumLabel(MetricKind, m.kind),
          h("code", null, m.eventType),
          m.denominatorEventType ? h("code", null, m.denominatorEventType) : "—",
          m.attributionWindow ? formatDurationSeconds(m.attributionWindow.seconds) : "analysis window",
          goodWay(directionOf(m.direction)),
          m.guardrail ? guardrailText(m.direction, m.guardrail.maxRelativeDegradation, m.guardrail.action) : "—",
        ),
      ),
      { empty: "No metrics." },
    ),
  );
}

function versionsSection(ctx: PageContext, key: string, history: Collected<ExperimentVersion>): HTMLElement {
  const versions = history.items;
  const newestFirst = [...versions].reverse();
  const rows: HTMLTableRowElement[] = [];
  for (const v of newestFirst) {
    const diffRow = h("tr", { class: "diff-row", hidden: true }, h("td", { colspan: 7 }));
    const diffCell = diffRow.cells[0] as HTMLTableCellElement;
    const toggle =
      v.version > 1n
        ? h(
            "button",
            {
              type: "button",
              class: "button-small",
              "data-testid": "diff-button",
              "aria-expanded": "false",
              onclick: () => void toggleDiff(ctx, key, v.version, toggle as HTMLButtonElement, diffRow, diffCell),
            },
            "Diff with previous",
          )
        : h("span", { class: "muted" }, "first");
    rows.push(
      row(
        { "data-testid": "version-row", "data-version": String(v.version) },
        String(v.version),
        h("code", null, v.action),
        statusPill(v.status, "version-status"),
        v.actor,
        timeCell(v.createTime),
        v.changeNote || h("span", { class: "muted" }, "—"),
        toggle,
      ),
      diffRow,
    );
  }
  return h(
    "section",
    { class: "card" },
    // A history cut off at MAX_VERSION_PAGES shows its oldest versions only, and says so.
    h("h2", null, history.nextPageToken ? `Versions (first ${versions.length} shown)` : `Versions (${versions.length})`),
    table(["Version", "Action", "Status", "Actor", "Time", "Note", ""], rows, { numeric: [0], testId: "versions-table" }),
  );
}

async function toggleDiff(
  ctx: PageContext,
  key: string,
  version: bigint,
  button: HTMLButtonElement,
  diffRow: HTMLTableRowElement,
  cell: HTMLTableCellElement,
): Promise<void> {
  if (!diffRow.hidden) {
    diffRow.hidden = true;
    button.setAttribute("aria-expanded", "false");
    return;
  }
  diffRow.hidden = false;
  button.setAttribute("aria-expanded", "true");
  replaceChildren(cell, loading("diff"));
  try {
    const { changes } = await ctx.api.experiments.diffExperimentVersions({
      key,
      fromVersion: version - 1n,
      toVersion: version,
    });
    replaceChildren(cell, diffTable(changes));
  } catch (error) {
    replaceChildren(cell, errorBox(describeError(error), "diff-error"));
  }
}

/** A present `before` or `after` as JSON; the diff table shows an absent one as "(absent)". */
function jsonOf(value: NonNullable<FieldChange["before"]>): string {
  return prettyJson(toJson(ValueSchema, value));
}

function diffTable(changes: readonly FieldChange[]): HTMLElement {
  if (changes.length === 0) return h("p", { class: "muted" }, "No field differs.");
  return h(
    "table",
    { class: "diff", "data-testid": "diff-table" },
    h("thead", null, h("tr", null, h("th", null, "Field"), h("th", null, "Before"), h("th", null, "After"))),
    h(
      "tbody",
      null,
      changes.map((c) =>
        h(
          "tr",
          null,
          h("td", null, h("code", null, c.path)),
          h("td", { class: "before" }, c.before === undefined ? h("span", { class: "muted" }, "(absent)") : h("pre", { class: "json" }, jsonOf(c.before))),
          h("td", { class: "after" }, c.after === undefined ? h("span", { class: "muted" }, "(absent)") : h("pre", { class: "json" }, jsonOf(c.after))),
        ),
      ),
    ),
  );
}
