import type { EventId } from './ids.js'

/** One stored event: its id and its envelope bytes. */
export interface EventRecord {
  readonly id: EventId
  readonly bytes: Uint8Array
}

/** Bounds of a read: `from` and `to` are inclusive ids; `limit` caps the count. */
export interface EventRange {
  readonly from?: EventId
  readonly to?: EventId
  readonly limit?: number
}

/** Sizes of an event log. */
export interface EventLogStats {
  readonly events: number
  readonly bytes: number
  readonly segments: number
  readonly oldest: EventId
  readonly head: EventId
}

/**
 * An append-only log of event envelopes keyed by gapless ids. The canonical store writes through
 * it (DESIGN.md, "Atomicity across backends"): it appends a group's events, makes them durable,
 * then commits its own head; on open it calls `truncateAfter(committedHead)`.
 */
export interface EventLog {
  /**
   * Appends records whose ids are `firstId`, `firstId + 1`, ...; `firstId` must be `head() + 1`
   * (anything else is refused with `INVALID_ARGUMENT` and nothing is written). Buffered: not
   * durable before {@link sync}.
   */
  append(firstId: EventId, records: readonly Uint8Array[]): void
  /** Hands everything appended to the OS (survives a process crash). */
  flush(): Promise<void>
  /** Makes everything appended durable on disk. */
  sync(): Promise<void>
  /** The last appended id, 0 when empty. */
  head(): EventId
  /** The first id still stored (after retention), or `head() + 1` when empty. */
  oldest(): EventId
  /** One event's envelope, or undefined when it is not stored. */
  get(id: EventId): Uint8Array | undefined
  /** Lazy iteration in id order with bounded memory. */
  read(range?: EventRange): IterableIterator<EventRecord>
  /** Removes every record after `id` (0 empties the log). */
  truncateAfter(id: EventId): Promise<void>
  /** Drops whole segments whose every id is below `id`; returns how many events were dropped. */
  deleteBefore(id: EventId): Promise<number>
  stats(): EventLogStats
  close(): Promise<void>
}
