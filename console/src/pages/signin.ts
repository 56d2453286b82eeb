// Sign in: paste an API token; WhoAmI checks it before it is kept.
import { createApi } from "../api/client.js";
import { describeError } from "../api/errors.js";
import { errorBox, h, replaceChildren } from "../dom.js";
import { signIn } from "../session.js";
import type { PageContext } from "./context.js";

/** Draws the sign-in form; `done` runs once a token was accepted. */
export function renderSignIn(ctx: PageContext, done: () => void): void {
  const input = h("input", {
    id: "token",
    type: "password",
    name: "token",
    autocomplete: "off",
    spellcheck: "false",
    required: true,
    placeholder: "vary_…",
    "data-testid": "signin-token",
  });
  const button = h("button", { type: "submit", class: "button-primary", "data-testid": "signin-submit" }, "Sign in");
  const feedback = h("div", { "aria-live": "polite" });

  const form = h(
    "form",
    {
      class: "card signin",
      onsubmit: (event: Event) => {
        event.preventDefault();
        void submit();
      },
    },
    h("h1", null, "Sign in"),
    h("p", { class: "muted" }, "Paste an API token issued by an admin (", h("code", null, "varyctl token create"), "). It is kept in this browser tab only, until you sign out or close the tab."),
    h("label", { for: "token" }, "API token"),
    input,
    h("div", { class: "form-actions" }, button),
    feedback,
  );

  async function submit(): Promise<void> {
    const token = input.value.trim();
    if (!token) return;
    button.disabled = true;
    replaceChildren(feedback, h("p", { class: "loading" }, "Checking the token…"));
    try {
      const { token: info } = await createApi(() => token).auth.whoAmI({});
      if (!info) throw new Error("the control plane returned no token description");
      signIn(token, { principal: info.principal, role: info.role, tokenId: info.tokenId });
      ctx.refreshHeader();
      done();
    } catch (error) {
      replaceChildren(feedback, errorBox(describeError(error), "signin-error"));
      button.disabled = false;
      input.select();
    }
  }

  replaceChildren(ctx.view, form);
  input.focus();
}
