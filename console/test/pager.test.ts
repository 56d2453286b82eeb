import { describe, expect, it } from "vitest";
import { Pager } from "../src/pager.js";

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
