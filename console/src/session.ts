// The signed-in API token, kept in sessionStorage: it survives reloads of this tab but not
// closing it, and other tabs do not see it. The principal is what WhoAmI last answered.
import type { Role } from "./gen/vary/v1/auth_pb.js";

const TOKEN_KEY = "vary.console.token";

/** Who the token belongs to. */
export interface Principal {
  principal: string;
  role: Role;
  tokenId: string;
}

let principal: Principal | null = null;

/** The stored token, or null when signed out. */
export function getToken(): string | null {
  try {
    return sessionStorage.getItem(TOKEN_KEY);
  } catch {
    return null;
  }
}

/** Signs in: stores the token and who it belongs to. */
export function signIn(token: string, who: Principal): void {
  sessionStorage.setItem(TOKEN_KEY, token);
  principal = who;
}

/** Signs out: forgets the token and the principal. */
export function signOut(): void {
  try {
    sessionStorage.removeItem(TOKEN_KEY);
  } catch {
    // Storage disabled: nothing was stored.
  }
  principal = null;
}

/** The principal of the current token, once WhoAmI has answered. */
export function currentPrincipal(): Principal | null {
  return principal;
}

/** Records who the current token belongs to (after a WhoAmI on page load). */
export function setPrincipal(who: Principal | null): void {
  principal = who;
}
