// What every page gets from the shell.
import type { Api } from "../api/client.js";
import type { Route } from "../router.js";

/** The shell's services for a page. */
export interface PageContext {
  /** API clients using the session's token. */
  api: Api;
  /** Where the page draws. */
  view: HTMLElement;
  /** False once the user has navigated elsewhere: late answers must then not draw. */
  isCurrent: () => boolean;
  /** Goes to another route. */
  navigate: (route: Route) => void;
  /** Redraws the header after sign-in or sign-out. */
  refreshHeader: () => void;
}
