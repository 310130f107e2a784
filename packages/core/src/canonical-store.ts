import type { Durability } from './config.js'
import type { EventMetadata } from './envelope.js'
import type { EventRange, EventRecord } from './event-log.js'
import type { CommitOptions } from './idempotency.js'
import type { EventId } from './ids.js'
import type { Key } from './keys.js'
import type { Limits } from './limits.js'
import type { ExpectedStreamVersion, StreamAppendOutcome, StreamEventInput } from './streams.js'
import type { TypedValue } from './typed-value.js'

/** One state entry from a scan. The key comes back in the form the scan was given (string or bytes). */
export interface StateEntry {
  /** The entry's key, as a string or bytes matching the prefix/bounds the scan was given. */
  readonly key: Key
  /** The decoded value stored under the key. */
  readonly value: TypedValue
}

/** Options of prefix and range scans. */
export interface ScanOptions {
  /** Stop after this many entries (default: no limit). */
  readonly limit?: number
  /** Iterate in descending key order (e.g. the newest of time-ordered keys first). */
  readonly reverse?: boolean
}

/**
 * Reads of committed key-value state: what a {@link CanonicalStore} (the latest commit) and a
 * {@link StateSnapshot} (the commit it was taken at) both offer.
 */
export interface StateReader {
  /** The value under `key`, or undefined; reads never wait for the writer. */
  get(key: Key): TypedValue | undefined
  /** The value's encoded bytes, for comparisons without decoding; undefined when absent. */
  getBytes(key: Key): Uint8Array | undefined
  /** True when `key` holds a value; cheaper than `get`. */
  exists(key: Key): boolean
  /** Entries whose key starts with `prefix`, in key order: lazy and snapshot-consistent. */
  scan(prefix: Key, options?: ScanOptions): IterableIterator<StateEntry>
  /** Entries with `start <= key < end`, in key order: lazy and snapshot-consistent. */
  range(start: Key, end: Key, options?: ScanOptions): IterableIterator<StateEntry>
}

/**
 * A consistent, read-only view of the committed state at one moment: every read through it sees
 * the same state, whatever commits land meanwhile (also across `await`s), until it is closed.
 * Take one with {@link CanonicalStore.snapshot}; close it as soon as you are done (`using` does
 * that on scope exit), because an open snapshot pins the store's old pages and one of its readers.
 *
 * The reads have the semantics of the store's own methods (decoding, key validation, errors).
 * After `close()` (or after the store closes, which closes its snapshots) every read, and every
 * unfinished iterator of `scan`/`range`, raises `CLOSED`.
 *
 * @example
 * using snap = store.snapshot()
 * const a = snap.get('alice')
 * await somethingElse() // commits may land now
 * const b = snap.get('bob') // still the state `a` was read from
 */
export interface StateSnapshot extends StateReader, Disposable {
  /**
   * Releases the snapshot and ends its unfinished iterators. Later reads raise `CLOSED`; closing
   * again does nothing.
   */
  close(): void
  /** Same as {@link StateSnapshot.close}: what `using snap = store.snapshot()` calls on scope exit. */
  [Symbol.dispose](): void
}

/**
 * What a logical transaction sees and does inside the writer. Reads see the latest state,
 * including earlier transactions of the same group and this transaction's own writes. Writes are
 * buffered and applied only if the transaction's function returns normally.
 */
export interface WriteContext {
  /** The value under `key` as this transaction sees it (its own writes included), or undefined. */
  get(key: Key): TypedValue | undefined
  /** The encoded value, for byte comparisons (conflict checks) without decoding. */
  getBytes(key: Key): Uint8Array | undefined
  /** True when `key` holds a value, as this transaction sees it; cheaper than `get` (no decoding). */
  exists(key: Key): boolean
  /**
   * Buffers a write of `value` under `key` (the last write to a key wins). Raises at once, aborting
   * only this transaction: `KEY_TOO_LARGE`/`VALUE_TOO_LARGE` over the limits, `INVALID_ARGUMENT`
   * when `value` is not a {@link TypedValue} (wrap plain values with `TypedValue.of`).
   */
  put(key: Key, value: TypedValue): void
  /** Buffers the removal of `key`; deleting a missing key is not an error. */
  delete(key: Key): void
  /** Appends an event whose payload is CBOR-encoded. */
  appendEvent(type: string, payload: unknown, metadata?: EventMetadata): void
  /** Appends an event whose payload bytes are stored as they are. */
  appendRawEvent(type: string, payload: Uint8Array, metadata?: EventMetadata): void
  /**
   * Appends events to `stream` (versions follow its last one, gapless from 0) after checking
   * `expected` against the stream as this transaction sees it (earlier members of the group and
   * its own appends included). A mismatch raises `ExpectedVersionConflictError` (`CONFLICT`),
   * aborting only this transaction; a bad name or event raises `INVALID_ARGUMENT`.
   */
  appendToStream(
    stream: string,
    events: readonly StreamEventInput[],
    expected?: ExpectedStreamVersion,
  ): StreamAppendOutcome
}

/** A logical transaction's body: synchronous, run in FIFO order by the writer. Throw to abort it alone. */
export type WriteFn<R> = (ctx: WriteContext) => R

/** What a committed logical transaction did. */
export interface CommitResult<R = void> {
  /** Ids of this transaction's events, or undefined when it wrote none. */
  readonly firstEventId: EventId | undefined
  /** Id of the transaction's last event, or undefined when it wrote none. */
  readonly lastEventId: EventId | undefined
  /** How many events the transaction appended. */
  readonly eventsWritten: number
  /**
   * Distinct keys the transaction left holding a value (a key put twice counts once; a put then
   * a delete of one key counts as a delete).
   */
  readonly stateKeysWritten: number
  /** Distinct keys the transaction deleted (whether or not they existed). */
  readonly stateKeysDeleted: number
  /** What the write function returned. */
  readonly result: R
  /**
   * True when the commit carried an idempotency key already committed within the window: nothing
   * was written (the write function did not run) and the other fields are the first commit's.
   */
  readonly duplicate: boolean
}

/** What a store backup wrote. */
export interface StoreBackupInfo {
  /** Files written, relative to the target directory. */
  readonly files: readonly string[]
  /** The head of the copy. */
  readonly head: EventId
}

/**
 * What a store package offers to restore a copy made by `CanonicalStore.backup()`: copies it into
 * `targetDir` (empty or missing), checks that it opens, and returns its head. A copy that cannot be
 * opened is refused with `CORRUPTION`, a non-empty target with `INVALID_ARGUMENT`. Implemented by
 * `restoreLmdbStore` of `@azothdb/store-lmdb`; the store is then opened as usual.
 */
export type RestoreCanonicalStore = (backupDir: string, targetDir: string) => EventId

/** Commit counters of the writer, for metrics. */
export interface CommitStats {
  /** Logical transactions committed since open. */
  readonly commits: number
  /** Logical transactions whose function threw or whose group failed to write. */
  readonly failedCommits: number
  /** Group commits (one disk transaction each); `commits / groups` is the batching achieved. */
  readonly groups: number
  /** Events appended since open. */
  readonly eventsAppended: number
  /** Logical transactions per group commit: mean and max. */
  readonly meanGroupSize: number
  /** The largest number of logical transactions one group commit has carried. */
  readonly maxGroupSize: number
}

/**
 * Where a projector or subscriber reads events from: the canonical store, or an event log alone.
 */
export interface EventSource {
  /** The id of the last committed event, 0 when there is none. */
  head(): EventId
  /** Stored events in id order, lazily, with bounded memory. */
  events(range?: EventRange): IterableIterator<EventRecord>
  /** Called with the new head after each commit; returns an unsubscribe function. */
  onCommit(listener: (head: EventId) => void): () => void
  /** When set, readers stop at this id (a backup is being sealed). */
  readonly sealedAt: EventId | undefined
}

/**
 * The source of truth: key-value state, metadata and (by default) the events, with group commit.
 * Implemented by `@azothdb/store-lmdb`.
 */
export interface CanonicalStore extends EventSource, StateReader {
  /** True when opened read-only: every commit is refused with `READ_ONLY`. */
  readonly readOnly: boolean
  /** How commits are acknowledged (`'sync'` or `'relaxed'`), fixed at open. */
  readonly durability: Durability
  /** The size limits commits are checked against (keys, values, events). */
  readonly limits: Limits

  /**
   * A read snapshot of the latest committed state, for consistent reads of several keys and scans
   * (see {@link StateSnapshot}). Close it when done; closing the store closes it too.
   */
  snapshot(): StateSnapshot

  /** The id of the last committed event, 0 when there is none. */
  head(): EventId
  /** Stored events in id order, lazily, with bounded memory. */
  events(range?: EventRange): IterableIterator<EventRecord>
  /** One event's envelope bytes (decode with `decodeEvent`), or undefined when not stored. */
  getEvent(id: EventId): Uint8Array | undefined

  /**
   * Queues a logical transaction for group commit. Resolves once it is committed with the store's
   * durability; rejects with what `fn` threw (nothing of it written), or `SEALED`/`CLOSED`. With
   * `options.idempotencyKey`, a key committed before within the store's window (or earlier in the
   * same group) makes it a duplicate: `fn` does not run, nothing is written, and the result is the
   * first commit's with `duplicate: true`.
   */
  commit<R>(fn: WriteFn<R>, options?: CommitOptions): Promise<CommitResult<R>>
  /** Called with the new head after each group commits; returns an unsubscribe function. */
  onCommit(listener: (head: EventId) => void): () => void

  /** Waits for in-flight commits, then holds new ones (they wait, not fail); resolves with the head. */
  pause(): Promise<EventId>
  /** Lets held commits go. Safe to call when not paused. */
  resume(): void
  /** True between `pause()` and `resume()`: new commits wait. */
  readonly paused: boolean
  /**
   * Pauses (as `pause()`), runs `fn` with the paused head, and resumes however `fn` ends (returns,
   * throws or rejects); resolves or rejects as `fn` did. Commits issued meanwhile wait, then land in
   * arrival order. Scopes may overlap: the store resumes when the last running one ends.
   */
  whilePaused<R>(fn: (head: EventId) => R | Promise<R>): Promise<R>
  /** Rejects new commits with `SEALED` from the current head on; in memory only, never persisted. */
  seal(): Promise<EventId>
  /** Lifts a `seal()`, so commits are accepted again (used once a sealed backup is done). */
  unseal(): void
  readonly sealedAt: EventId | undefined

  /** A consistent copy of the store into `targetDir`, taken while readers and writers go on. */
  backup(targetDir: string): Promise<StoreBackupInfo>
  /** SHA-256 (hex) over every state entry in key order: equal states give equal digests. */
  stateDigest(): string
  /** Commit counters since open, for metrics and for judging how well group commit batches. */
  commitStats(): CommitStats
  /** Waits for in-flight commits and closes; later calls reject with `CLOSED`. */
  close(): Promise<void>
}
