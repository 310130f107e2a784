import type { EventId } from './ids.js'

/**
 * One stored event: its id and its envelope bytes. Bytes handed out by {@link EventLog.read} stay
 * valid after the iteration moves on (an implementation never reuses them), so they may be kept.
 */
export interface EventRecord {
  /** The event's id. */
  readonly id: EventId
  /** The envelope bytes; decode with `decodeEvent(id, bytes)`. */
  readonly bytes: Uint8Array
}

/**
 * Bounds of a read: `from` and `to` are inclusive ids (clamped to what is stored); `limit` caps the
 * count. Each may be `Infinity` or omitted for "no bound".
 */
export interface EventRange {
  /** First id to return, inclusive (default: the oldest stored). */
  readonly from?: EventId
  /** Last id to return, inclusive (default: the head at the time of the call). */
  readonly to?: EventId
  /** Return at most this many records (default: no limit). */
  readonly limit?: number
}

/** Sizes of an event log. */
export interface EventLogStats {
  /** Events currently stored (after retention). */
  readonly events: number
  /** Bytes the stored events occupy on disk, framing included. */
  readonly bytes: number
  /** Storage units (segment files; 1 for a log kept in one database). */
  readonly segments: number
  /** The first id still stored, or `head + 1` when empty. */
  readonly oldest: EventId
  /** The last appended id, 0 when empty. */
  readonly head: EventId
}

/**
 * An append-only log of event envelopes keyed by gapless ids. The canonical store writes through
 * it append-then-commit: it appends a group's events, makes them durable, then commits its own
 * head, so after a crash the log may run ahead of the store but never behind; on open it calls
 * `truncateAfter(committedHead)`.
 *
 * Errors: bad arguments raise `INVALID_ARGUMENT` (also every write to a log opened read-only), a
 * record over the log's size limit `EVENT_TOO_LARGE`, damaged storage `CORRUPTION` with
 * `details.file` / `details.offset` where known, calls after {@link close} `CLOSED`, and a failed
 * write or sync `IO`; after an `IO` failure a log refuses further writes until reopened, because
 * what reached the disk is unknown (reopening repairs it).
 */
export interface EventLog {
  /**
   * Appends records whose ids are `firstId`, `firstId + 1`, ...; `firstId` must be `head() + 1`
   * (anything else is refused with `INVALID_ARGUMENT` and nothing is written). The bytes are copied
   * before it returns. Buffered: not durable before {@link sync}. Appending while a `sync()` is in
   * flight is allowed (the next sync covers it).
   */
  append(firstId: EventId, records: readonly Uint8Array[]): void
  /** Hands everything appended to the OS (survives a process crash). */
  flush(): Promise<void>
  /**
   * Makes everything appended before the call durable on disk. Never blocks the event loop on
   * fsync. Concurrent calls are fine; each resolves once its appends are durable.
   */
  sync(): Promise<void>
  /** The last appended id, 0 when empty. */
  head(): EventId
  /** The first id still stored (after retention), or `head() + 1` when empty. */
  oldest(): EventId
  /** One event's envelope (a copy), or undefined when it is not stored. */
  get(id: EventId): Uint8Array | undefined
  /**
   * Lazy iteration in id order with bounded memory, up to the head at the time of the call.
   * Checks integrity as it reads (`CORRUPTION`).
   */
  read(range?: EventRange): IterableIterator<EventRecord>
  /**
   * Removes every record after `id` (0 empties the log) and makes that durable; `id` above the
   * head is `INVALID_ARGUMENT`. When `id` is below `oldest() - 1` the log becomes empty and the
   * next append starts at `id + 1`.
   */
  truncateAfter(id: EventId): Promise<void>
  /**
   * Drops whole storage units (segments) whose every id is below `id`; returns how many events
   * were dropped. Never drops an id at or above `id`, so it may keep some older ones.
   */
  deleteBefore(id: EventId): Promise<number>
  /** Current sizes, for metrics and retention decisions. */
  stats(): EventLogStats
  /**
   * For a log opened read-only while another process writes: takes in what was appended since and
   * returns the new head. Optional; a writer's log is always current.
   */
  refresh?(): EventId
  /** Makes everything durable and releases the log; later calls raise `CLOSED`. Idempotent. */
  close(): Promise<void>
}
