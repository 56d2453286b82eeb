// The detail page's lifecycle panel: the Start/Pause/Resume/Stop buttons valid for the
// experiment's status, each behind a confirmation with a change note.
import { describeError } from "../api/errors.js";
import { errorBox, h, replaceChildren } from "../dom.js";
import type { Experiment } from "../gen/vary/v1/experiment_pb.js";
import { ACTION_LABELS, type LifecycleAction, allowedActions } from "../lifecycle.js";
import type { PageContext } from "./context.js";

/**
 * The lifecycle buttons valid for the status. Each asks for confirmation (and a change
 * note) first. The lifecycle RPCs take no base version, so just before acting the page
 * re-reads the experiment and refuses if its version moved since the page was drawn:
 * the person confirmed what they saw, not what someone else changed since.
 */
export function lifecycleSection(ctx: PageContext, experiment: Experiment, reload: () => Promise<void>): HTMLElement | null {
  const actions = allowedActions(experiment.status);
  if (actions.length === 0) return null;
  const panel = h("div", { class: "confirm", hidden: true, "data-testid": "lifecycle-confirm-panel" });
  const feedback = h("div", { "aria-live": "polite" });
  const buttons = actions.map((action) =>
    h(
      "button",
      {
        type: "button",
        class: ACTION_LABELS[action].danger ? "button-danger" : "button-primary",
        "data-testid": `lifecycle-${action}`,
        onclick: () => showConfirm(action),
      },
      ACTION_LABELS[action].label,
    ),
  );

  function showConfirm(action: LifecycleAction): void {
    replaceChildren(feedback);
    const note = h("input", { type: "text", id: "change-note", maxlength: "1000", placeholder: "Why (stored on the version)", "data-testid": "lifecycle-note" });
    const variants = experiment.spec?.variants ?? [];
    const rollout =
      action === "stop"
        ? h(
            "select",
            { id: "rollout", "data-testid": "lifecycle-rollout" },
            h("option", { value: "" }, "None: serve nothing"),
            variants.map((v) => h("option", { value: v.key }, `${v.key}${v.control ? " (control)" : ""}`)),
          )
        : null;
    const confirm = h(
      "button",
      {
        type: "button",
        class: ACTION_LABELS[action].danger ? "button-danger" : "button-primary",
        "data-testid": "lifecycle-confirm",
        onclick: () => void act(action, note.value.trim(), rollout?.value ?? "", confirm as HTMLButtonElement),
      },
      `Yes, ${ACTION_LABELS[action].verb} it`,
    );
    replaceChildren(
      panel,
      h("p", null, h("strong", null, `${ACTION_LABELS[action].label} `, h("code", null, experiment.key), "?"), ` ${consequence(action)}`),
      h("label", { for: "change-note" }, "Change note"),
      note,
      rollout ? [h("label", { for: "rollout" }, "Roll out variant to everyone eligible"), rollout] : null,
      h(
        "div",
        { class: "form-actions" },
        confirm,
        h("button", { type: "button", "data-testid": "lifecycle-cancel", onclick: () => { panel.hidden = true; } }, "Cancel"),
      ),
    );
    panel.hidden = false;
    note.focus();
  }

  async function act(action: LifecycleAction, changeNote: string, rolloutVariantKey: string, button: HTMLButtonElement): Promise<void> {
    button.disabled = true;
    replaceChildren(feedback, h("p", { class: "loading" }, "Working…"));
    try {
      const fresh = (await ctx.api.experiments.getExperiment({ key: experiment.key })).experiment;
      if (fresh && fresh.version !== experiment.version) {
        panel.hidden = true;
        replaceChildren(
          feedback,
          errorBox(
            {
              code: undefined,
              title: "Changed by someone else",
              hint: `The experiment is at version ${fresh.version} now; this page shows version ${experiment.version}. Nothing was done. Reload, review and try again.`,
              detail: "",
            },
            "lifecycle-error",
          ),
          h("button", { type: "button", onclick: () => void reload() }, "Reload"),
        );
        return;
      }
      const key = experiment.key;
      const client = ctx.api.experiments;
      if (action === "start") await client.startExperiment({ key, changeNote });
      else if (action === "pause") await client.pauseExperiment({ key, changeNote });
      else if (action === "resume") await client.resumeExperiment({ key, changeNote });
      else await client.stopExperiment({ key, changeNote, rolloutVariantKey });
      if (ctx.isCurrent()) await reload();
    } catch (error) {
      button.disabled = false;
      replaceChildren(feedback, errorBox(describeError(error), "lifecycle-error"));
    }
  }

  return h(
    "section",
    { class: "card lifecycle", "aria-label": "Lifecycle" },
    h("div", { class: "lifecycle-buttons", "data-testid": "lifecycle-actions" }, buttons),
    panel,
    feedback,
  );
}

function consequence(action: LifecycleAction): string {
  switch (action) {
    case "start":
      return "Units start being assigned by hash as soon as edge agents apply the new revision.";
    case "pause":
      return "New units stop being assigned (QA overrides still apply). Phases do not change.";
    case "resume":
      return "Assignment resumes with the same split.";
    case "stop":
      return "This is final: the experiment stops assigning and logging exposures.";
  }
}
