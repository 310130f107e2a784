import type { AzothEvent } from './envelope.js'

/**
 * Applies events to a projection. `Tx` is the projection backend's transaction (for SQLite, one
 * with `run`, `get`, `all`); every write made through it commits with the projector's cursor.
 */
export interface EventHandler<Tx = unknown> {
  /** A name for logs and metrics. */
  readonly name?: string
  /** Event types this handler wants, or `'*'` for all. Events of other types are skipped. */
  readonly eventTypes: readonly string[] | '*'
  /** Applies one event; throw to fail it (the projector's error strategy decides what follows). */
  handle(event: AzothEvent, tx: Tx): void | Promise<void>
  /** Optional faster path for a whole batch; on failure the projector falls back to `handle` per event. */
  handleBatch?(events: readonly AzothEvent[], tx: Tx): void | Promise<void>
  /** Empties this handler's tables before a rebuild. */
  reset?(tx: Tx): void | Promise<void>
}
