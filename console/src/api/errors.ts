// Turns failures of API calls into words for people. The control plane's own message
// (which names the field, the status or the conflicting experiment) is kept as the detail;
// the headline says what the Connect/gRPC code means for the person at the keyboard.
import { Code, ConnectError } from "@connectrpc/connect";

/** A failure as the console shows it. */
export interface ErrorView {
  /** The gRPC code, when the failure came from the API. */
  code: Code | undefined;
  /** Short headline, e.g. "Token not accepted". */
  title: string;
  /** What it means and what to do. */
  hint: string;
  /** The server's (or the runtime's) own message, if any. */
  detail: string;
}

const HEADLINES: Partial<Record<Code, { title: string; hint: string }>> = {
  [Code.Unauthenticated]: {
    title: "Token not accepted",
    hint: "The control plane did not accept this API token (mistyped, revoked or expired). Sign in again with a valid token.",
  },
  [Code.PermissionDenied]: {
    title: "Permission denied",
    hint: "Your token's role does not allow this. Ask an admin for a token with a higher role.",
  },
  [Code.FailedPrecondition]: {
    title: "Not possible right now",
    hint: "The experiment's current state does not allow this change.",
  },
  [Code.Aborted]: {
    title: "Conflicting change",
    // Both a stale base version and a database conflict between two writers are ABORTED.
    hint: "The experiment changed since this page loaded, or another change collided with this one. Reload, review and try again.",
  },
  [Code.NotFound]: {
    title: "Not found",
    hint: "It does not exist (or no longer does).",
  },
  [Code.AlreadyExists]: {
    title: "Already exists",
    hint: "Something with that key exists already.",
  },
  [Code.InvalidArgument]: {
    title: "Invalid request",
    hint: "The control plane rejected the input.",
  },
  [Code.Unavailable]: {
    title: "Control plane unavailable",
    hint: "The control plane could not be reached or is overloaded. Try again shortly.",
  },
  [Code.DeadlineExceeded]: {
    title: "Timed out",
    hint: "The control plane did not answer in time. Try again.",
  },
  [Code.Unimplemented]: {
    title: "Not supported",
    hint: "This control plane does not offer that call (is gRPC-Web enabled, and is it the same version?).",
  },
  [Code.ResourceExhausted]: {
    title: "Too many requests",
    hint: "A limit was reached. Wait a moment and try again.",
  },
  [Code.Canceled]: {
    title: "Cancelled",
    hint: "The request was cancelled.",
  },
  [Code.OutOfRange]: {
    title: "Out of range",
    hint: "A value (a page token, a phase, a version) is outside what exists.",
  },
  [Code.DataLoss]: {
    title: "Data loss",
    hint: "The control plane reported lost or corrupt data; tell its operators.",
  },
  [Code.Internal]: {
    title: "Server error",
    hint: "The control plane failed internally; its logs have the details.",
  },
  [Code.Unknown]: {
    title: "Unexpected error",
    hint: "The request failed for an unknown reason (a proxy or network problem is likely).",
  },
};

/** Describes any thrown value; ConnectErrors by code, anything else as an unexpected error. */
export function describeError(error: unknown): ErrorView {
  const connectError = ConnectError.from(error);
  const known = HEADLINES[connectError.code] ?? {
    title: "Request failed",
    hint: `The control plane answered ${Code[connectError.code] ?? "with an unknown code"}.`,
  };
  return {
    code: connectError.code,
    title: known.title,
    hint: known.hint,
    detail: connectError.rawMessage,
  };
}

/** Whether the error means the token is no good and the user must sign in again. */
export function isUnauthenticated(error: unknown): boolean {
  return ConnectError.from(error).code === Code.Unauthenticated;
}

/**
 * Whether GetResults failed because there is nothing to analyse yet. The control plane
 * answers FAILED_PRECONDITION ("has not run yet") for an experiment that was never
 * started, which the results page shows as an empty state, not as a failed change.
 */
export function isNoResultsYet(error: unknown): boolean {
  return ConnectError.from(error).code === Code.FailedPrecondition;
}
