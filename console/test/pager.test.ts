import { describe, expect, it } from "vitest";
import { Pager, collectPages } from "../src/pager.js";

describe("Pager", () => {
  it("walks forward and back through page tokens", () => {
    const pager = new Pager();
    expect(pager.token).toBe("");
    expect(pager.hasPrevious).toBe(false);
    pager.next("t2");
    pager.next("t3");
    expect(pager.token).toBe("t3");
    expect(pager.pageNumber).toBe(3);
    pager.back();
    expect(pager.token).toBe("t2");
    pager.back();
    expect(pager.token).toBe("");
    expect(pager.hasPrevious).toBe(false);
    pager.back();
    expect(pager.token).toBe("");
  });
  it("resets to the first page", () => {
    const pager = new Pager();
    pager.next("x");
    pager.reset();
    expect(pager.token).toBe("");
    expect(pager.pageNumber).toBe(1);
  });
});

describe("Pager with a query", () => {
  it("keeps the query its tokens were issued for until a reset", () => {
    const pager = new Pager({ actor: "alice" });
    pager.next("t2");
    // The form now says "bob", but "Next"/"Previous" must still ask for alice's pages.
    pager.next("t3");
    pager.back();
    expect(pager.query).toEqual({ actor: "alice" });
    expect(pager.token).toBe("t2");
    pager.reset({ actor: "bob" });
    expect(pager.query).toEqual({ actor: "bob" });
    expect(pager.token).toBe("");
    expect(pager.pageNumber).toBe(1);
  });
});

describe("collectPages", () => {
  /** A list of `pages` pages of one item each, tokens "p1", "p2", … */
  const list = (pages: number) => async (token: string) => {
    const index = token ? Number(token.slice(1)) : 0;
    return { items: [index], nextPageToken: index + 1 < pages ? `p${index + 1}` : "" };
  };

  it("collects every page of a list shorter than the cap", async () => {
    expect(await collectPages(list(3), 20)).toEqual({ items: [0, 1, 2], nextPageToken: "" });
  });
  it("reports a list cut off at the cap with the token of the next page", async () => {
    expect(await collectPages(list(5), 2)).toEqual({ items: [0, 1], nextPageToken: "p2" });
  });
  it("is complete when the last page ends exactly at the cap", async () => {
    expect(await collectPages(list(2), 2)).toEqual({ items: [0, 1], nextPageToken: "" });
  });
});
