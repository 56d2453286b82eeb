// The fleet: which config revision each edge agent was sent, serves, or refused.
import { timestampDate } from "@bufbuild/protobuf/wkt";
import { h, pill, replaceChildren, row, table } from "../dom.js";
import type { Agent } from "../gen/vary/v1/fleet_pb.js";
import { formatAgo, formatCount } from "../format.js";
import { Pager } from "../pager.js";
import type { PageContext } from "./context.js";
import { pagedList } from "./paged-list.js";
import { timeCell } from "./widgets.js";

const PAGE_SIZE = 100;

/** Draws the agent list against the head revision. */
export async function renderFleet(ctx: PageContext): Promise<void> {
  const pager = new Pager();
  const results = h("div");
  replaceChildren(ctx.view, h("div", { class: "page-head" }, h("h1", null, "Fleet")), results);

  const load = pagedList(ctx, results, pager, "agents", async () => {
    const response = await ctx.api.fleet.listAgents({ pageSize: PAGE_SIZE, pageToken: pager.token });
    const head = response.headRevision;
    const now = new Date();
    return {
      content: [
        h("p", null, "Head config revision: ", h("strong", { "data-testid": "head-revision" }, formatCount(head))),
        table(
          ["Agent", "Labels", "Version", "Stream", "Applied", "Sent", "Rejected", "State", "Last seen", "Replica"],
          response.agents.map((a) =>
            row(
              { "data-testid": "agent-row", "data-agent": a.agentId },
              h("code", null, a.agentId),
              labels(a.labels),
              a.agentVersion || "—",
              a.connected ? pill("connected", "green") : pill("disconnected", "muted"),
              formatCount(a.appliedRevision),
              formatCount(a.sentRevision),
              a.rejectedRevision > 0n ? h("span", { title: a.rejectedError }, formatCount(a.rejectedRevision)) : "—",
              state(a, head),
              a.lastSeenTime ? h("span", null, timeCell(a.lastSeenTime), h("span", { class: "muted" }, ` (${formatAgo(timestampDate(a.lastSeenTime), now)})`)) : "—",
              a.replica || "—",
            ),
          ),
          { numeric: [4, 5, 6], testId: "agents-table", empty: "No agents have connected yet." },
        ),
      ],
      nextPageToken: response.nextPageToken,
    };
  });
  await load();
}

function labels(map: Record<string, string>): HTMLElement {
  const entries = Object.entries(map).sort(([a], [b]) => a.localeCompare(b));
  if (entries.length === 0) return h("span", { class: "muted" }, "—");
  return h("span", { class: "labels" }, entries.map(([k, v]) => h("code", { class: "label" }, `${k}=${v}`)));
}

function state(agent: Agent, head: bigint): HTMLElement {
  if (agent.rejectedRevision > 0n && agent.rejectedRevision >= agent.appliedRevision) {
    return h("span", null, pill("rejected", "red"), " ", h("span", { class: "small" }, agent.rejectedError));
  }
  if (agent.appliedRevision >= head) return pill("in sync", "green");
  const behind = head - agent.appliedRevision;
  return pill(`${formatCount(behind)} behind`, agent.connected ? "amber" : "muted");
}
