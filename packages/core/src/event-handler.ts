import type { AzothEvent } from './envelope.js'

/**
 * Applies events to a projection. `Tx` is the projection backend's transaction (for SQLite, one
 * with `run`, `get`, `all`); every write made through it commits with the projector's cursor.
 *
 * Handlers should be synchronous on a synchronous backend (SQLite): the projector then applies a
 * whole batch inside one transaction without yielding. A handler may return a promise; the
 * projector awaits it while holding the store's write transaction, which is correct but slower and
 * keeps other writers of the same store waiting. `Ev` is the events it sees: a database opened with
 * typed events (`defineEvents`) gives its handlers the union of its events.
 */
export interface EventHandler<Tx = unknown, Ev extends AzothEvent = AzothEvent> {
  /** A name for logs and metrics. */
  readonly name?: string
  /** Event types this handler wants, or `'*'` for all. Events of other types are skipped. */
  readonly eventTypes: readonly Ev['type'][] | '*'
  /** Applies one event; throw to fail it (the projector's error strategy decides what follows). */
  handle(event: Ev, tx: Tx): void | Promise<void>
  /**
   * Optional faster path for a whole batch (only the events of this handler's types, in id order);
   * when it throws, the projector rolls the batch back and falls back to `handle` per event.
   */
  handleBatch?(events: readonly Ev[], tx: Tx): void | Promise<void>
  /** Empties this handler's tables before a rebuild. */
  reset?(tx: Tx): void | Promise<void>
}
