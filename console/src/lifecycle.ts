// Which lifecycle actions the detail page offers for each status. Mirrors the transitions
// documented on ExperimentService (DRAFT -> RUNNING <-> PAUSED -> STOPPED); the control
// plane is the authority and answers FAILED_PRECONDITION if this ever disagrees.
import { ExperimentStatus } from "./gen/vary/v1/experiment_pb.js";

/** A lifecycle action the console can take. */
export type LifecycleAction = "start" | "pause" | "resume" | "stop";

/** Words and look of each action. */
export const ACTION_LABELS: Record<LifecycleAction, { label: string; verb: string; danger: boolean }> = {
  start: { label: "Start", verb: "start", danger: false },
  pause: { label: "Pause", verb: "pause", danger: false },
  resume: { label: "Resume", verb: "resume", danger: false },
  stop: { label: "Stop", verb: "stop", danger: true },
};

/** The actions valid in `status`, in the order the buttons appear. */
export function allowedActions(status: ExperimentStatus): LifecycleAction[] {
  switch (status) {
    case ExperimentStatus.DRAFT:
      return ["start"];
    case ExperimentStatus.RUNNING:
      return ["pause", "stop"];
    case ExperimentStatus.PAUSED:
      return ["resume", "stop"];
    default:
      return [];
  }
}

/** Strips an enum's prefix and lowercases it for display: ("METRIC_ROLE_PRIMARY") → "primary". */
export function enumLabel(enumObject: Record<number, string>, value: number): string {
  const name = enumObject[value];
  return name ? name.toLowerCase().replace(/_/g, " ") : `unknown (${value})`;
}
