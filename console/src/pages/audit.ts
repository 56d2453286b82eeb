// The audit log (admin only): ListAuditEvents, newest first, with every filter the API has.
import type { JsonObject } from "@bufbuild/protobuf";
import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import type { ListAuditEventsRequest } from "../gen/vary/v1/audit_pb.js";
import { h, replaceChildren, row, table } from "../dom.js";
import { formatCount, prettyJson } from "../format.js";
import { Pager } from "../pager.js";
import { routeHref } from "../router.js";
import type { PageContext } from "./context.js";
import { pagedList } from "./paged-list.js";
import { timeCell } from "./widgets.js";

const PAGE_SIZE = 50;

/** The filter fields of ListAuditEvents. */
type AuditFilters = Pick<ListAuditEventsRequest, "actor" | "action" | "targetType" | "targetKey" | "startTime" | "endTime">;

/** Draws the audit log with its filter form. */
export async function renderAudit(ctx: PageContext): Promise<void> {
  const field = (id: string, label: string, input: HTMLInputElement | HTMLSelectElement): HTMLElement =>
    h("div", { class: "field" }, h("label", { for: id }, label), input);
  const actor = h("input", { id: "f-actor", type: "text", placeholder: "alice@example.com", "data-testid": "audit-actor" });
  const action = h("input", { id: "f-action", type: "text", placeholder: "experiment.pause", "data-testid": "audit-action" });
  const targetType = h(
    "select",
    { id: "f-target-type", "data-testid": "audit-target-type" },
    h("option", { value: "" }, "any"),
    h("option", { value: "experiment" }, "experiment"),
    h("option", { value: "token" }, "token"),
  );
  const targetKey = h("input", { id: "f-target-key", type: "text", placeholder: "experiment key or token id", "data-testid": "audit-target-key" });
  const from = h("input", { id: "f-from", type: "datetime-local", "data-testid": "audit-from" });
  const to = h("input", { id: "f-to", type: "datetime-local", "data-testid": "audit-to" });
  const results = h("div");
  const form = h(
    "form",
    {
      class: "card filter-form",
      onsubmit: (event: Event) => {
        event.preventDefault();
        pager.reset(filtersOfForm());
        void load();
      },
    },
    field("f-actor", "Actor", actor),
    field("f-action", "Action", action),
    field("f-target-type", "Target type", targetType),
    field("f-target-key", "Target key", targetKey),
    field("f-from", "From (local time)", from),
    field("f-to", "Before (local time)", to),
    h("div", { class: "form-actions" }, h("button", { type: "submit", class: "button-primary", "data-testid": "audit-apply" }, "Apply filters")),
  );
  replaceChildren(ctx.view, h("div", { class: "page-head" }, h("h1", null, "Audit log")), form, results);

  const time = (input: HTMLInputElement) => {
    const date = input.value ? new Date(input.value) : undefined;
    return date && !Number.isNaN(date.getTime()) ? timestampFromDate(date) : undefined;
  };
  /** The filters as typed; read only on "Apply", since page tokens belong to one query. */
  const filtersOfForm = (): AuditFilters => ({
    actor: actor.value.trim(),
    action: action.value.trim(),
    targetType: targetType.value,
    targetKey: targetKey.value.trim(),
    startTime: time(from),
    endTime: time(to),
  });
  const pager = new Pager<AuditFilters>(filtersOfForm());

  // "Apply" stays clickable while a page loads: pagedList lets only the latest request draw.
  const load = pagedList(ctx, results, pager, "audit events", async () => {
    const response = await ctx.api.audit.listAuditEvents({
      ...pager.query,
      pageSize: PAGE_SIZE,
      pageToken: pager.token,
    });
    return {
      content: table(
        ["#", "Time", "Actor", "Action", "Target", "Revision", "Change"],
        response.events.map((e) =>
          row(
            { "data-testid": "audit-row" },
            String(e.id),
            timeCell(e.occurTime),
            e.actor,
            h("code", null, e.action),
            e.targetType === "experiment"
              ? h("span", null, "experiment ", h("a", { href: routeHref({ page: "experiment", key: e.targetKey }) }, e.targetKey))
              : `${e.targetType} ${e.targetKey}`,
            e.revision > 0n ? formatCount(e.revision) : "—",
            beforeAfter(e.before, e.after),
          ),
        ),
        { numeric: [0, 5], testId: "audit-table", empty: "No events match these filters." },
      ),
      nextPageToken: response.nextPageToken,
    };
  });
  await load();
}

function beforeAfter(before: JsonObject | undefined, after: JsonObject | undefined): HTMLElement {
  if (!before && !after) return h("span", { class: "muted" }, "—");
  return h(
    "details",
    null,
    h("summary", null, before && after ? "before / after" : before ? "before" : "after"),
    h(
      "div",
      { class: "before-after" },
      before ? h("div", null, h("h4", null, "Before"), h("pre", { class: "json" }, prettyJson(before))) : null,
      after ? h("div", null, h("h4", null, "After"), h("pre", { class: "json" }, prettyJson(after))) : null,
    ),
  );
}
