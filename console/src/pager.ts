// Page-token pagination for list pages: the API gives only "next", so earlier tokens are
// kept on a stack to go back.

/** Tracks the token of the page shown and those before it. */
export class Pager {
  private readonly previous: string[] = [];
  private current = "";

  /** The token of the page being shown ("" for the first). */
  get token(): string {
    return this.current;
  }

  /** The 1-based number of the page being shown. */
  get pageNumber(): number {
    return this.previous.length + 1;
  }

  /** Whether there is a page before this one. */
  get hasPrevious(): boolean {
    return this.previous.length > 0;
  }

  /** Moves to the page after this one. */
  next(nextToken: string): void {
    this.previous.push(this.current);
    this.current = nextToken;
  }

  /** Moves back one page. */
  back(): void {
    this.current = this.previous.pop() ?? "";
  }

  /** Back to the first page (after a filter change). */
  reset(): void {
    this.previous.length = 0;
    this.current = "";
  }
}
