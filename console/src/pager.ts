// Page-token pagination for list pages: the API gives only "next", so earlier tokens are
// kept on a stack to go back. A page token is valid only with the filters of the request
// that returned it ("keep the filters the same across pages"), so the pager also keeps
// that query: moving between pages reuses it, and only `reset` (a new search) changes it.
// Reading the filters from the form on "Next" instead would send the old token with
// whatever was typed since.

/** Tracks the token of the page shown, those before it, and the query they belong to. */
export class Pager<Query = undefined> {
  private readonly previous: string[] = [];
  private current = "";
  private filters: Query;

  constructor(...[query]: Query extends undefined ? [] : [Query]) {
    this.filters = query as Query;
  }

  /** The token of the page being shown ("" for the first). */
  get token(): string {
    return this.current;
  }

  /** The filters every page of this walk is requested with. */
  get query(): Query {
    return this.filters;
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

  /** Back to the first page, with new filters when given (a new search). */
  reset(...[query]: Query extends undefined ? [] : [Query]): void {
    this.previous.length = 0;
    this.current = "";
    if (query !== undefined) this.filters = query as Query;
  }
}

/** Items of up to `maxPages` pages, and the token of the page after them ("" when none). */
export interface Collected<T> {
  items: T[];
  /** Non-empty when the walk stopped at `maxPages` with pages left: the items are a prefix. */
  nextPageToken: string;
}

/**
 * Walks a page-token list from the start, at most `maxPages` pages, so a runaway list
 * cannot hang the page. Stopping early is reported, not hidden: the caller gets the token
 * of the next page and must say the list is cut off.
 */
export async function collectPages<T>(
  fetchPage: (pageToken: string) => Promise<{ items: T[]; nextPageToken: string }>,
  maxPages: number,
): Promise<Collected<T>> {
  const items: T[] = [];
  let nextPageToken = "";
  for (let page = 0; page < maxPages; page++) {
    const response = await fetchPage(nextPageToken);
    items.push(...response.items);
    nextPageToken = response.nextPageToken;
    if (!nextPageToken) break;
  }
  return { items, nextPageToken };
}
