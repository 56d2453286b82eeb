// Tiny typed DOM helpers: enough to build pages without a framework. Text always goes in
// as Text nodes (never parsed as HTML); the one exception, `svgNode`, takes markup from
// the chart modules, which escape every piece of text they write.
import type { ErrorView } from "./api/errors.js";

/** What can be a child: nodes, text, numbers; null/undefined/false are skipped. */
export type Child = Node | string | number | null | undefined | false | readonly Child[];

/** Attributes; `on<event>` keys take listeners, booleans toggle presence. */
export type Attrs = Record<
  string,
  string | number | boolean | null | undefined | ((event: Event) => void)
>;

/** Creates an element with attributes and children. */
export function h<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  attrs?: Attrs | null,
  ...children: Child[]
): HTMLElementTagNameMap[K] {
  const el = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs ?? {})) {
    if (value === undefined || value === null || value === false) continue;
    if (typeof value === "function") {
      el.addEventListener(name.slice(2).toLowerCase(), value);
    } else if (name === "value" && "value" in el) {
      (el as HTMLInputElement).value = String(value);
    } else {
      el.setAttribute(name, value === true ? "" : String(value));
    }
  }
  append(el, children);
  return el;
}

/** Appends children (flattening arrays) to a node. */
export function append(parent: Node, children: readonly Child[]): void {
  for (const child of children) {
    if (child === null || child === undefined || child === false) continue;
    if (Array.isArray(child)) append(parent, child as readonly Child[]);
    else if (child instanceof Node) parent.appendChild(child);
    else parent.appendChild(document.createTextNode(String(child)));
  }
}

/** Replaces all children of a node. */
export function replaceChildren(parent: Element, ...children: Child[]): void {
  parent.replaceChildren();
  append(parent, children);
}

/** Wraps SVG markup from a chart module (already escaped) in a figure. */
export function svgNode(markup: string, className = "chart-frame"): HTMLElement {
  const frame = h("div", { class: className });
  frame.innerHTML = markup;
  return frame;
}

/** A visible, announced error with the headline, what to do, and the server's words. */
export function errorBox(view: ErrorView, testId = "error"): HTMLElement {
  return h(
    "div",
    { class: "alert alert-error", role: "alert", "data-testid": testId },
    h("strong", null, view.title),
    h("p", null, view.hint),
    view.detail ? h("p", { class: "alert-detail" }, h("code", null, view.detail)) : null,
  );
}

/** A placeholder while something loads. */
export function loading(what: string): HTMLElement {
  return h("p", { class: "loading", "aria-busy": "true" }, `Loading ${what}…`);
}

/** A small coloured label, e.g. a status. */
export function pill(text: string, tone: string, testId?: string): HTMLElement {
  return h("span", { class: `pill pill-${tone}`, "data-testid": testId }, text);
}

/** A definition list from label/value pairs; values may be nodes. */
export function facts(rows: readonly [string, Child][]): HTMLElement {
  return h(
    "dl",
    { class: "facts" },
    rows.map(([label, value]) => [h("dt", null, label), h("dd", null, value)]),
  );
}

/** A table with a header row; `numeric` column indexes are right-aligned. */
export function table(
  headers: readonly string[],
  rows: readonly HTMLTableRowElement[],
  options: { numeric?: readonly number[]; testId?: string; empty?: string } = {},
): HTMLElement {
  const numeric = new Set(options.numeric ?? []);
  const head = h(
    "thead",
    null,
    h(
      "tr",
      null,
      headers.map((text, i) => h("th", { scope: "col", class: numeric.has(i) ? "num" : null }, text)),
    ),
  );
  const body = h("tbody", null, rows);
  if (rows.length === 0) {
    body.append(h("tr", null, h("td", { colspan: headers.length, class: "empty" }, options.empty ?? "Nothing here.")));
  } else {
    for (const row of rows) {
      // A cell spanning the row (an expanded diff) is no column's: leave it left-aligned.
      Array.from(row.cells).forEach((cell, i) => {
        if (numeric.has(i) && cell.colSpan === 1) cell.classList.add("num");
      });
    }
  }
  return h("div", { class: "table-wrap" }, h("table", { "data-testid": options.testId }, head, body));
}

/** A table row from cells. */
export function row(attrs: Attrs | null, ...cells: Child[]): HTMLTableRowElement {
  return h("tr", attrs, cells.map((c) => (c instanceof HTMLTableCellElement ? c : h("td", null, c))));
}
