// The API clients. The console is served by the control plane itself, so gRPC-Web goes to
// the page's own origin (no CORS). Every call carries the session's token as a Bearer
// credential; binary protobuf keeps messages identical to what the Rust services send.
import { type Client, type Interceptor, createClient } from "@connectrpc/connect";
import { createGrpcWebTransport } from "@connectrpc/connect-web";
import { AnalysisService } from "../gen/vary/v1/analysis_pb.js";
import { AuditService } from "../gen/vary/v1/audit_pb.js";
import { AuthService } from "../gen/vary/v1/auth_pb.js";
import { ExperimentService } from "../gen/vary/v1/experiment_service_pb.js";
import { FleetService } from "../gen/vary/v1/fleet_pb.js";
import { isUnauthenticated } from "./errors.js";

/** One client per service the console uses. */
export interface Api {
  experiments: Client<typeof ExperimentService>;
  analysis: Client<typeof AnalysisService>;
  audit: Client<typeof AuditService>;
  auth: Client<typeof AuthService>;
  fleet: Client<typeof FleetService>;
}

/** Adds `authorization: Bearer <token>` when there is a token. */
export function bearerAuth(token: () => string | null): Interceptor {
  return (next) => async (request) => {
    const value = token();
    if (value) request.header.set("authorization", `Bearer ${value}`);
    return next(request);
  };
}

/**
 * Calls `onRefused` when the control plane answers UNAUTHENTICATED (the token was revoked
 * or expired while signed in), then rethrows, so the page still shows the error. Without
 * it the dead token would stay stored and every page would fail on its own.
 */
export function onUnauthenticated(onRefused: () => void): Interceptor {
  return (next) => async (request) => {
    try {
      return await next(request);
    } catch (error) {
      if (isUnauthenticated(error)) onRefused();
      throw error;
    }
  };
}

/** Options of `createApi`. */
export interface ApiOptions {
  /** The API's origin; the page's own by default. */
  baseUrl?: string;
  /** Runs when any call is refused as UNAUTHENTICATED. */
  onRefused?: () => void;
}

/** Clients that authenticate with whatever `token` returns at call time. */
export function createApi(token: () => string | null, options: ApiOptions = {}): Api {
  const interceptors = [bearerAuth(token)];
  if (options.onRefused) interceptors.unshift(onUnauthenticated(options.onRefused));
  const transport = createGrpcWebTransport({
    baseUrl: options.baseUrl ?? window.location.origin,
    useBinaryFormat: true,
    interceptors,
  });
  return {
    experiments: createClient(ExperimentService, transport),
    analysis: createClient(AnalysisService, transport),
    audit: createClient(AuditService, transport),
    auth: createClient(AuthService, transport),
    fleet: createClient(FleetService, transport),
  };
}
