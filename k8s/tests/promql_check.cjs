// Parses PromQL expressions with Prometheus's own grammar (@prometheus-io/lezer-promql, the
// parser of Prometheus's web UI), for scripts/check-k8s: no promtool is needed.
// Input (stdin): JSON [{name, expr}]. Output (stdout): JSON {name: "error message"} for
// the expressions that do not parse; exit status 1 when there is any.
"use strict";

const { parser } = require("@prometheus-io/lezer-promql");

const expressions = JSON.parse(require("fs").readFileSync(0, "utf8"));
const errors = {};
for (const { name, expr } of expressions) {
  const tree = parser.parse(expr);
  let firstError = null;
  tree.iterate({
    enter(node) {
      if (firstError === null && node.type.isError) {
        firstError = node.from;
      }
    },
  });
  if (firstError !== null) {
    const context = expr.slice(Math.max(0, firstError - 30), firstError + 30).replace(/\s+/g, " ");
    errors[name] = `syntax error at offset ${firstError}, near "${context}"`;
  }
}
process.stdout.write(JSON.stringify(errors));
process.exit(Object.keys(errors).length > 0 ? 1 : 0);
