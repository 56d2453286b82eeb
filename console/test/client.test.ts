import { Code, ConnectError, type Interceptor } from "@connectrpc/connect";
import { describe, expect, it } from "vitest";
import { bearerAuth, onUnauthenticated } from "../src/api/client.js";

// Interceptors take `next` and a request; these fakes carry only what they touch.
type Next = Parameters<Interceptor>[0];
type Request = Parameters<Next>[0];
const request = (): Request => ({ header: new Headers() }) as unknown as Request;
const failing = (code: Code): Next => (async () => {
  throw new ConnectError("refused", code);
}) as unknown as Next;

describe("onUnauthenticated", () => {
  it("reports a refused token and still rethrows, so the page shows the error", async () => {
    let refused = 0;
    const call = onUnauthenticated(() => (refused += 1))(failing(Code.Unauthenticated));
    await expect(call(request())).rejects.toThrow("refused");
    expect(refused).toBe(1);
  });
  it("ignores every other failure", async () => {
    let refused = 0;
    const call = onUnauthenticated(() => (refused += 1))(failing(Code.PermissionDenied));
    await expect(call(request())).rejects.toThrow("refused");
    expect(refused).toBe(0);
  });
});

describe("bearerAuth", () => {
  it("sends the token as a Bearer credential, and nothing without one", async () => {
    const seen: (string | null)[] = [];
    const next = (async (req: Request) => {
      seen.push(req.header.get("authorization"));
      return {};
    }) as unknown as Next;
    await bearerAuth(() => "vary_abc_secret")(next)(request());
    await bearerAuth(() => null)(next)(request());
    expect(seen).toEqual(["Bearer vary_abc_secret", null]);
  });
});
