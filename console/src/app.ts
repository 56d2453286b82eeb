// The shell: header with navigation and the signed-in principal, and a hash router that
// draws one page at a time into <main>. Pages are async; a counter makes sure a slow answer
// for a page the user already left is dropped instead of drawn over the new one.
import { createApi } from "./api/client.js";
import { describeError, isUnauthenticated } from "./api/errors.js";
import { h, replaceChildren, pill } from "./dom.js";
import { Role } from "./gen/vary/v1/auth_pb.js";
import { enumLabel } from "./lifecycle.js";
import type { PageContext } from "./pages/context.js";
import { renderAudit } from "./pages/audit.js";
import { renderExperiment } from "./pages/experiment.js";
import { renderExperiments } from "./pages/experiments.js";
import { renderFleet } from "./pages/fleet.js";
import { renderResults } from "./pages/results.js";
import { renderSignIn } from "./pages/signin.js";
import { type Route, parseRoute, routeHref } from "./router.js";
import { currentPrincipal, getToken, setPrincipal, signOut } from "./session.js";

/** Starts the console in `root`. */
export function startApp(root: HTMLElement): void {
  const header = h("header", { class: "app-header" });
  const view = h("main", { class: "app-main", id: "main", tabindex: "-1" });
  replaceChildren(root, h("a", { class: "skip-link", href: "#main" }, "Skip to content"), header, view);

  let generation = 0;
  let returnTo: Route | null = null;

  // A token refused mid-session (revoked, expired) is forgotten at once, and the user is
  // sent to sign in and then back to where they were.
  const api = createApi(getToken, {
    onRefused: () => {
      if (!getToken()) return;
      signOut();
      const here = parseRoute(window.location.hash);
      if (here.page !== "signin") returnTo = here;
      refreshHeader();
      navigate({ page: "signin" });
    },
  });

  const navigate = (route: Route): void => {
    const href = routeHref(route);
    if (window.location.hash === href) void draw();
    else window.location.hash = href;
  };

  const refreshHeader = (): void => drawHeader(header, parseRoute(window.location.hash), () => {
    signOut();
    returnTo = null; // the next person to sign in starts afresh, not on this one's page
    refreshHeader();
    navigate({ page: "signin" });
  });

  const draw = async (): Promise<void> => {
    generation += 1;
    const mine = generation;
    const ctx: PageContext = { api, view, isCurrent: () => mine === generation, navigate, refreshHeader };
    // First, so that a stored token WhoAmI refuses (revoked, expired) signs out before the
    // route is chosen and the page goes to sign-in instead of failing call by call.
    if (getToken() && !currentPrincipal()) await loadPrincipal(ctx);
    if (!ctx.isCurrent()) return;
    let route = parseRoute(window.location.hash);
    if (route.page !== "signin" && !getToken()) {
      returnTo = route;
      route = { page: "signin" };
    }
    refreshHeader();
    replaceChildren(view);
    switch (route.page) {
      case "signin":
        return renderSignIn(ctx, () => {
          const target = returnTo ?? { page: "experiments" };
          returnTo = null;
          navigate(target);
        });
      case "experiments":
        return renderExperiments(ctx, route.status);
      case "experiment":
        return renderExperiment(ctx, route.key);
      case "results":
        return renderResults(ctx, route.key, route.phase);
      case "audit":
        return renderAudit(ctx);
      case "fleet":
        return renderFleet(ctx);
      case "notFound":
        replaceChildren(
          view,
          h("h1", null, "Page not found"),
          h("p", null, "Nothing lives at ", h("code", null, route.path), ". ", h("a", { href: "#/experiments" }, "Go to experiments"), "."),
        );
        return;
    }
  };

  window.addEventListener("hashchange", () => void draw());
  void draw();
}

/**
 * Asks WhoAmI for the stored token. A rejected token has been signed out by then: the
 * API's `onRefused` interceptor runs before the error reaches this catch.
 */
async function loadPrincipal(ctx: PageContext): Promise<void> {
  try {
    const { token } = await ctx.api.auth.whoAmI({});
    if (token) setPrincipal({ principal: token.principal, role: token.role, tokenId: token.tokenId });
  } catch (error) {
    // Otherwise the header shows no principal; the page's own calls will show the error.
    if (!isUnauthenticated(error)) console.warn("whoami failed", describeError(error));
  }
}

function drawHeader(header: HTMLElement, route: Route, onSignOut: () => void): void {
  const who = currentPrincipal();
  const signedIn = getToken() !== null;
  const current = (page: Route["page"][]): string | null => (page.includes(route.page) ? "page" : null);
  replaceChildren(
    header,
    h("a", { class: "brand", href: "#/experiments" }, h("span", { class: "brand-mark", "aria-hidden": "true" }, "◆"), "Vary"),
    signedIn
      ? h(
          "nav",
          { "aria-label": "Main" },
          h("a", { href: "#/experiments", "aria-current": current(["experiments", "experiment", "results"]), "data-testid": "nav-experiments" }, "Experiments"),
          h("a", { href: "#/audit", "aria-current": current(["audit"]), "data-testid": "nav-audit" }, "Audit log"),
          h("a", { href: "#/fleet", "aria-current": current(["fleet"]), "data-testid": "nav-fleet" }, "Fleet"),
        )
      : h("span", { class: "nav-spacer" }),
    h(
      "div",
      { class: "who" },
      who
        ? [
            h("span", { class: "principal", "data-testid": "principal" }, who.principal),
            pill(enumLabel(Role, who.role), "role", "principal-role"),
          ]
        : signedIn
          ? h("span", { class: "principal muted" }, "signed in")
          : null,
      signedIn ? h("button", { type: "button", class: "button-quiet", "data-testid": "signout", onclick: onSignOut }, "Sign out") : null,
    ),
  );
}
