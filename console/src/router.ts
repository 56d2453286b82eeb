// Hash routes of the console. The server serves index.html at /console/, and the part
// after "#" names the page, so deep links work without any server-side routing:
//   #/signin  #/experiments  #/experiments/<key>  #/experiments/<key>/results?phase=N
//   #/audit  #/fleet
// parseRoute and routeHref are inverses for every route (tested).

/** A page of the console with its parameters. */
export type Route =
  | { page: "signin" }
  | { page: "experiments"; status?: string }
  | { page: "experiment"; key: string }
  | { page: "results"; key: string; phase?: number }
  | { page: "audit" }
  | { page: "fleet" }
  | { page: "notFound"; path: string };

/** Reads a route from `location.hash` (with or without the leading "#"). */
export function parseRoute(hash: string): Route {
  const raw = hash.startsWith("#") ? hash.slice(1) : hash;
  const [pathPart = "", queryPart = ""] = splitOnce(raw, "?");
  const query = new URLSearchParams(queryPart);
  const segments = pathPart.split("/").filter((s) => s.length > 0);
  let decoded: string[];
  try {
    decoded = segments.map((s) => decodeURIComponent(s));
  } catch {
    return { page: "notFound", path: raw };
  }
  const [first, second, third, ...rest] = decoded;
  if (rest.length > 0) return { page: "notFound", path: raw };
  switch (first) {
    case undefined:
      return second === undefined ? { page: "experiments" } : { page: "notFound", path: raw };
    case "signin":
      return second === undefined ? { page: "signin" } : { page: "notFound", path: raw };
    case "audit":
      return second === undefined ? { page: "audit" } : { page: "notFound", path: raw };
    case "fleet":
      return second === undefined ? { page: "fleet" } : { page: "notFound", path: raw };
    case "experiments": {
      if (second === undefined) {
        const status = query.get("status");
        return status ? { page: "experiments", status } : { page: "experiments" };
      }
      if (third === undefined) return { page: "experiment", key: second };
      if (third === "results") {
        const phase = Number(query.get("phase"));
        return Number.isInteger(phase) && phase > 0
          ? { page: "results", key: second, phase }
          : { page: "results", key: second };
      }
      return { page: "notFound", path: raw };
    }
    default:
      return { page: "notFound", path: raw };
  }
}

/** The `href` of a route, starting with "#". */
export function routeHref(route: Route): string {
  switch (route.page) {
    case "signin":
      return "#/signin";
    case "experiments":
      return route.status
        ? `#/experiments?status=${encodeURIComponent(route.status)}`
        : "#/experiments";
    case "experiment":
      return `#/experiments/${encodeURIComponent(route.key)}`;
    case "results":
      return `#/experiments/${encodeURIComponent(route.key)}/results${
        route.phase ? `?phase=${route.phase}` : ""
      }`;
    case "audit":
      return "#/audit";
    case "fleet":
      return "#/fleet";
    case "notFound":
      return `#${route.path}`;
  }
}

function splitOnce(text: string, separator: string): [string, string] {
  const at = text.indexOf(separator);
  return at < 0 ? [text, ""] : [text.slice(0, at), text.slice(at + 1)];
}
