// What the three list pages (experiments, audit log, fleet) share: load one page of a
// page-token list into an area, draw it with the pager under it, and keep the pager when
// the load fails, so a failed "Next" still has "Previous" and a "Retry" beside the error
// instead of a dead end.
import { type Child, h, loading, replaceChildren } from "../dom.js";
import type { Pager } from "../pager.js";
import type { PageContext } from "./context.js";
import { failure } from "./widgets.js";

/** One fetched page: what to draw above the pager, and the token of the page after it. */
export interface ListPage {
  content: Child;
  nextPageToken: string;
}

/** The moves the pager buttons make. */
type PagerMoves = Pick<Pager<unknown>, "back" | "next" | "hasPrevious" | "pageNumber">;

/**
 * Loads pages of a list into `area`, each with `fetch` (which reads the pager's token and
 * query), and returns `load`, which (re)loads the pager's current page. Only the latest
 * load may draw, and none once the user has left the page, so a slow answer cannot
 * overwrite a newer one ("Apply" on the audit log stays clickable while a page loads).
 */
export function pagedList(
  ctx: PageContext,
  area: HTMLElement,
  pager: PagerMoves,
  what: string,
  fetch: () => Promise<ListPage>,
): () => Promise<void> {
  let latest = 0;
  const load = async (): Promise<void> => {
    const mine = ++latest;
    const stillMine = (): boolean => ctx.isCurrent() && mine === latest;
    const reload = (): void => void load();
    replaceChildren(area, loading(what));
    try {
      const page = await fetch();
      if (!stillMine()) return;
      replaceChildren(area, page.content, pagerControls(pager, reload, nextButton(pager, page.nextPageToken, reload)));
    } catch (error) {
      if (!stillMine()) return;
      replaceChildren(area, failure(error), pagerControls(pager, reload, retryButton(reload)));
    }
  };
  return load;
}

/** "← Previous / Page n / <last>": `last` is "Next →", or "Retry" after a failed load. */
function pagerControls(pager: PagerMoves, reload: () => void, last: HTMLElement): HTMLElement {
  return h(
    "div",
    { class: "pager" },
    h(
      "button",
      { type: "button", disabled: !pager.hasPrevious, "data-testid": "pager-previous", onclick: () => { pager.back(); reload(); } },
      "← Previous",
    ),
    h("span", { class: "muted" }, `Page ${pager.pageNumber}`),
    last,
  );
}

function nextButton(pager: PagerMoves, nextToken: string, reload: () => void): HTMLElement {
  return h(
    "button",
    { type: "button", disabled: !nextToken, "data-testid": "pager-next", onclick: () => { pager.next(nextToken); reload(); } },
    "Next →",
  );
}

function retryButton(reload: () => void): HTMLElement {
  return h("button", { type: "button", "data-testid": "pager-retry", onclick: reload }, "Retry");
}
