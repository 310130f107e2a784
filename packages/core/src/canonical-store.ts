import type { Durability } from './config.js'
import type { EventMetadata } from './envelope.js'
import type { EventRange, EventRecord } from './event-log.js'
import type { EventId } from './ids.js'
import type { Key } from './keys.js'
import type { Limits } from './limits.js'
import type { TypedValue } from './typed-value.js'

/** One state entry from a scan. The key comes back in the form the scan was given (string or bytes). */
export interface StateEntry {
  readonly key: Key
  readonly value: TypedValue
}

/** Options of prefix and range scans. */
export interface ScanOptions {
  readonly limit?: number
  readonly reverse?: boolean
}

/**
 * What a logical transaction sees and does inside the writer. Reads see the latest state,
 * including earlier transactions of the same group and this transaction's own writes. Writes are
 * buffered and applied only if the transaction's function returns normally.
 */
export interface WriteContext {
  get(key: Key): TypedValue | undefined
  /** The encoded value, for byte comparisons (conflict checks) without decoding. */
  getBytes(key: Key): Uint8Array | undefined
  exists(key: Key): boolean
  put(key: Key, value: TypedValue): void
  delete(key: Key): void
  /** Appends an event whose payload is CBOR-encoded. */
  appendEvent(type: string, payload: unknown, metadata?: EventMetadata): void
  /** Appends an event whose payload bytes are stored as they are. */
  appendRawEvent(type: string, payload: Uint8Array, metadata?: EventMetadata): void
}

/** A logical transaction's body: synchronous, run in FIFO order by the writer. Throw to abort it alone. */
export type WriteFn<R> = (ctx: WriteContext) => R

/** What a committed logical transaction did. */
export interface CommitResult<R = void> {
  /** Ids of this transaction's events, or undefined when it wrote none. */
  readonly firstEventId: EventId | undefined
  readonly lastEventId: EventId | undefined
  readonly eventsWritten: number
  readonly stateKeysWritten: number
  readonly stateKeysDeleted: number
  /** What the write function returned. */
  readonly result: R
}

/** What a store backup wrote. */
export interface StoreBackupInfo {
  /** Files written, relative to the target directory. */
  readonly files: readonly string[]
  /** The head of the copy. */
  readonly head: EventId
}

/** Commit counters of the writer, for metrics. */
export interface CommitStats {
  readonly commits: number
  readonly failedCommits: number
  readonly groups: number
  readonly eventsAppended: number
  /** Logical transactions per group commit: mean and max. */
  readonly meanGroupSize: number
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
 * Implemented by `@azoth/store-lmdb`.
 */
export interface CanonicalStore extends EventSource {
  readonly readOnly: boolean
  readonly durability: Durability
  readonly limits: Limits

  get(key: Key): TypedValue | undefined
  getBytes(key: Key): Uint8Array | undefined
  exists(key: Key): boolean
  /** Entries whose key starts with `prefix`, in key order: lazy and snapshot-consistent. */
  scan(prefix: Key, options?: ScanOptions): IterableIterator<StateEntry>
  /** Entries with `start <= key < end`, in key order: lazy and snapshot-consistent. */
  range(start: Key, end: Key, options?: ScanOptions): IterableIterator<StateEntry>

  /** The id of the last committed event, 0 when there is none. */
  head(): EventId
  /** Stored events in id order, lazily, with bounded memory. */
  events(range?: EventRange): IterableIterator<EventRecord>
  getEvent(id: EventId): Uint8Array | undefined

  /**
   * Queues a logical transaction for group commit. Resolves once it is committed with the store's
   * durability; rejects with what `fn` threw (nothing of it written), or `SEALED`/`CLOSED`.
   */
  commit<R>(fn: WriteFn<R>): Promise<CommitResult<R>>
  /** Called with the new head after each group commits; returns an unsubscribe function. */
  onCommit(listener: (head: EventId) => void): () => void

  /** Waits for in-flight commits, then holds new ones (they wait, not fail); resolves with the head. */
  pause(): Promise<EventId>
  /** Lets held commits go. Safe to call when not paused. */
  resume(): void
  readonly paused: boolean
  /** Rejects new commits with `SEALED` from the current head on; in memory only, never persisted. */
  seal(): Promise<EventId>
  unseal(): void
  readonly sealedAt: EventId | undefined

  /** A consistent copy of the store into `targetDir`, taken while readers and writers go on. */
  backup(targetDir: string): Promise<StoreBackupInfo>
  /** SHA-256 (hex) over every state entry in key order: equal states give equal digests. */
  stateDigest(): string
  commitStats(): CommitStats
  /** Waits for in-flight commits and closes; later calls reject with `CLOSED`. */
  close(): Promise<void>
}
