// The experiment list: ListExperiments a page at a time, filtered by status.
import { h, replaceChildren, row, table } from "../dom.js";
import { ExperimentStatus } from "../gen/vary/v1/experiment_pb.js";
import { formatBps } from "../format.js";
import { Pager } from "../pager.js";
import { routeHref } from "../router.js";
import type { PageContext } from "./context.js";
import { pagedList } from "./paged-list.js";
import { statusPill, timeCell } from "./widgets.js";

const PAGE_SIZE = 50;

/** Filter choices: the value goes into the route as `?status=`. */
const FILTERS: { value: string; label: string }[] = [
  { value: "", label: "All but archived" },
  { value: "ALL", label: "All, with archived" },
  { value: "DRAFT", label: "Draft" },
  { value: "RUNNING", label: "Running" },
  { value: "PAUSED", label: "Paused" },
  { value: "STOPPED", label: "Stopped" },
  { value: "ARCHIVED", label: "Archived" },
];

/** The request's status filter for a route's `status`. */
function statusFilter(value: string | undefined): { status: ExperimentStatus; includeArchived: boolean } {
  if (value === "ALL") return { status: ExperimentStatus.UNSPECIFIED, includeArchived: true };
  const status = value ? (ExperimentStatus as unknown as Record<string, number>)[value] : undefined;
  return { status: typeof status === "number" ? status : ExperimentStatus.UNSPECIFIED, includeArchived: false };
}

/** Draws the list for the given status filter. */
export async function renderExperiments(ctx: PageContext, status: string | undefined): Promise<void> {
  const pager = new Pager();
  const select = h(
    "select",
    {
      id: "status-filter",
      "data-testid": "status-filter",
      onchange: () => ctx.navigate(select.value ? { page: "experiments", status: select.value } : { page: "experiments" }),
    },
    FILTERS.map((f) => h("option", { value: f.value, selected: (status ?? "") === f.value }, f.label)),
  );
  const results = h("div");
  replaceChildren(
    ctx.view,
    h(
      "div",
      { class: "page-head" },
      h("h1", null, "Experiments"),
      h("div", { class: "filters" }, h("label", { for: "status-filter" }, "Status"), select),
    ),
    results,
  );

  const load = pagedList(ctx, results, pager, "experiments", async () => {
    const filter = statusFilter(status);
    const response = await ctx.api.experiments.listExperiments({
      pageSize: PAGE_SIZE,
      pageToken: pager.token,
      status: filter.status,
      includeArchived: filter.includeArchived,
    });
    const rows = response.experiments.map((e) => {
      const spec = e.spec;
      return row(
        { "data-testid": "experiment-row", "data-key": e.key },
        h("a", { href: routeHref({ page: "experiment", key: e.key }) }, h("code", null, e.key)),
        spec?.name ?? "",
        statusPill(e.status),
        spec?.owner ?? "",
        formatBps(spec?.allocationBps),
        String(spec?.variants.length ?? 0),
        timeCell(e.updateTime),
      );
    });
    return {
      content: table(["Key", "Name", "Status", "Owner", "Allocation", "Variants", "Updated"], rows, {
        numeric: [4, 5],
        testId: "experiments-table",
        empty: "No experiments match this filter.",
      }),
      nextPageToken: response.nextPageToken,
    };
  });
  await load();
}
