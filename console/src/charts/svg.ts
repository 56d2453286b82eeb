// Small helpers for writing SVG markup as strings. Every piece of text that can come from
// data goes through `escapeXml`, so an experiment or variant named `<script>` stays text.

/** Escapes the five XML special characters for text and attribute values. */
export function escapeXml(text: string): string {
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

let nextId = 0;

/** A document-unique id for aria-labelledby links (prefix plus a counter). */
export function uniqueId(prefix: string): string {
  nextId += 1;
  return `${prefix}-${nextId}`;
}
