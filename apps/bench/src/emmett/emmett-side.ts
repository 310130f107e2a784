import type { EventStore } from '@event-driven-io/emmett'

/** One side of an Emmett case: an Emmett `EventStore` and what the bench needs around it. */
export interface EmmettSide {
  readonly store: EventStore
  /**
   * Makes one call of the store. A side whose store cannot take a call as is (Emmett's SQLite store
   * answers SQLITE_BUSY) retries or serializes here, and says so in its case params.
   */
  call<T>(fn: () => Promise<T>): Promise<T>
  /**
   * Applies every event of the store, from the first, to the `cart_totals` read model rebuilt from
   * empty; resolves with the sum of `items` the read model then holds (one per event).
   */
  catchUp?(): Promise<number>
  /**
   * Reads every event of the store in global order with the store's own global read (Emmett's
   * `EventStore` has none: Emmett's stores export `readMessagesBatch`, Azoth has `db.events()`);
   * resolves with the sum of the events' `qty` (one per event).
   */
  readAll(): Promise<number>
  /** Figures of the timed runs (retries, stray errors), printed under the side's rate. */
  report?(): Record<string, string | number>
  close(): Promise<void>
}
