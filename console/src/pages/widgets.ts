// Pieces several pages share.
import { describeError } from "../api/errors.js";
import { errorBox, h, pill } from "../dom.js";
import { ExperimentStatus, MetricRole } from "../gen/vary/v1/experiment_pb.js";
import { enumLabel } from "../lifecycle.js";
import { statusTone } from "../metrics.js";
import { formatTime } from "../format.js";
import type { Timestamp } from "@bufbuild/protobuf/wkt";
import { timestampDate } from "@bufbuild/protobuf/wkt";

/** A status pill for an experiment. */
export function statusPill(status: ExperimentStatus, testId = "status"): HTMLElement {
  const name = enumLabel(ExperimentStatus, status);
  return pill(name, statusTone(name), testId);
}

/** A metric's role as a pill: primary blue, guardrail amber, the rest muted. */
export function rolePill(role: MetricRole): HTMLElement {
  const tone = role === MetricRole.PRIMARY ? "blue" : role === MetricRole.GUARDRAIL ? "amber" : "muted";
  return pill(enumLabel(MetricRole, role), tone);
}

/** A timestamp as local time, with the UTC instant in the tooltip. */
export function timeCell(ts: Timestamp | undefined): HTMLElement {
  if (!ts) return h("span", { class: "muted" }, "—");
  const date = timestampDate(ts);
  return h("time", { datetime: date.toISOString(), title: date.toISOString() }, formatTime(date));
}

/**
 * An error box for a failed call. A refused token needs no link to sign in here: the
 * API's `onRefused` interceptor has signed out and gone to the sign-in page already.
 */
export function failure(error: unknown, testId = "error"): HTMLElement {
  return errorBox(describeError(error), testId);
}
