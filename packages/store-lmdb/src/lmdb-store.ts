import { createHash } from 'node:crypto'
import {
  AzothError,
  type CanonicalStore,
  ClosedError,
  type CommitResult,
  type CommitStats,
  type Durability,
  decodeTypedValue,
  type EventId,
  type EventLog,
  type EventRange,
  type EventRecord,
  type Key,
  type Limits,
  type Logger,
  type ScanOptions,
  type StateEntry,
  type StateSnapshot,
  type StoreBackupInfo,
  type TypedValue,
  type WriteFn,
} from '@azothdb/core'
import { type ProcessLock, toError } from '@azothdb/core/internal'
import type { Database, RootDatabase, Transaction } from 'lmdb'
import { CommitQueue } from './commit-queue.js'
import { EventsReader } from './events-reader.js'
import { readFast } from './fast-read.js'
import { groupWriter } from './group-writer.js'
import { lookupKey } from './lookup-key.js'
import { readHead } from './meta.js'
import { scanState } from './state-scan.js'
import { LmdbStateSnapshot } from './state-snapshot.js'
import { copyBackup } from './store-backup.js'
import { StoreIterator } from './store-iterator.js'

type Bytes = Uint8Array

/** The LMDB handles of a store. */
export interface StoreDatabases {
  readonly env: RootDatabase<Bytes, Bytes>
  readonly state: Database<Bytes, Bytes>
  readonly events: Database<Bytes, Bytes>
  readonly meta: Database<Bytes, Bytes>
}

/** Internal construction parameters; use {@link openLmdbStore}. */
export interface LmdbStoreInit {
  readonly dir: string
  readonly dbs: StoreDatabases
  readonly readOnly: boolean
  readonly durability: Durability
  readonly limits: Limits
  readonly clock: { now(): number }
  readonly logger: Logger
  readonly eventLog: EventLog | undefined
  readonly eventChunkBytes: number
  readonly lock: ProcessLock | undefined
}

/** Mutable counters the group writer updates. */
export interface CommitCounters {
  commits: number
  failedCommits: number
  groups: number
  eventsAppended: number
  groupMembers: number
  maxGroupSize: number
}

/**
 * The canonical store on LMDB: typed key-value state, metadata and (by default) events in one
 * environment, written by a group-committing single writer. Open it with {@link openLmdbStore}.
 */
export class LmdbStore implements CanonicalStore {
  /** The store's directory (the LMDB environment, its lock file and metadata). */
  readonly dir: string
  readonly readOnly: boolean
  readonly durability: Durability
  readonly limits: Limits
  private readonly dbs: StoreDatabases
  private readonly logger: Logger
  private readonly eventLog: EventLog | undefined
  private readonly lock: ProcessLock | undefined
  private readonly queue: CommitQueue
  private readonly listeners = new Set<(head: EventId) => void>()
  /** Open snapshots: closing the store closes them. */
  private readonly snapshots = new Set<LmdbStateSnapshot>()
  /** Running `whilePaused` scopes: the last one to end resumes. */
  private pauseScopes = 0
  private readonly eventsReader: EventsReader
  private readonly counters: CommitCounters = {
    commits: 0,
    failedCommits: 0,
    groups: 0,
    eventsAppended: 0,
    groupMembers: 0,
    maxGroupSize: 0,
  }
  /** Head of the last durable, answered group: what readers see. */
  private committedHead: EventId
  /** Head of the last group committed to LMDB, durable or not yet: where the next group's ids start. */
  private allocatedHead: EventId
  private sealed: EventId | undefined
  private sealing = false
  private closed = false
  private closing: Promise<void> | undefined

  constructor(init: LmdbStoreInit) {
    this.dir = init.dir
    this.dbs = init.dbs
    this.readOnly = init.readOnly
    this.durability = init.durability
    this.limits = init.limits
    this.logger = init.logger
    this.eventLog = init.eventLog
    this.lock = init.lock
    this.committedHead = readHead(init.dbs.meta, init.dbs.events)
    this.allocatedHead = this.committedHead
    this.eventsReader = new EventsReader(init.dbs, init.eventLog)
    this.queue = new CommitQueue(
      groupWriter({
        dbs: init.dbs,
        limits: init.limits,
        clock: init.clock,
        logger: init.logger,
        eventLog: init.eventLog,
        eventChunkBytes: init.eventChunkBytes,
        durability: init.durability,
        counters: this.counters,
        lastAllocated: () => this.allocatedHead,
        allocated: (head) => {
          this.allocatedHead = head
        },
        answered: (head) => {
          if (head <= this.committedHead) return
          this.committedHead = head
          this.notify(head)
        },
      }),
    )
  }

  get paused(): boolean {
    return this.pausedFlag
  }
  private pausedFlag = false

  /** The head at which `seal()` froze the store, or undefined when not sealed; readers stop there. */
  get sealedAt(): EventId | undefined {
    return this.sealed
  }

  // ---- reads ----

  get(key: Key): TypedValue | undefined {
    this.checkOpen()
    const bytes = readFast(this.dbs.state, lookupKey(key, this.limits))
    return bytes === undefined ? undefined : decodeTypedValue(bytes)
  }

  getBytes(key: Key): Uint8Array | undefined {
    this.checkOpen()
    const value = this.dbs.state.getBinary(lookupKey(key, this.limits))
    return value === undefined ? undefined : new Uint8Array(value.buffer, value.byteOffset, value.byteLength)
  }

  exists(key: Key): boolean {
    this.checkOpen()
    return this.dbs.state.doesExist(lookupKey(key, this.limits))
  }

  scan(prefix: Key, options: ScanOptions = {}): IterableIterator<StateEntry> {
    this.checkOpen()
    return this.outliving(scanState(this.dbs.state, prefix, undefined, options, this.limits))
  }

  range(start: Key, end: Key, options: ScanOptions = {}): IterableIterator<StateEntry> {
    this.checkOpen()
    return this.outliving(scanState(this.dbs.state, start, end, options, this.limits))
  }

  /**
   * A read snapshot of the latest committed state (an lmdb-js read transaction). Snapshots taken
   * at the same commit share one LMDB reader; LMDB has 126 readers, so about that many snapshots of
   * different commits can be open at once (more raise `IO`). An open snapshot keeps the pages of
   * its state from being reused: close it soon. `close()` of the store closes every open snapshot
   * (their later reads raise `CLOSED`); it never waits for them.
   */
  snapshot(): StateSnapshot {
    this.checkOpen()
    const state = this.dbs.state
    let transaction: Transaction
    try {
      // lmdb-js reuses one read transaction per event-loop turn; start from the latest commit
      // (a read-only store: also the writer process's latest), as head() does.
      state.resetReadTxn()
      transaction = state.useReadTransaction()
    } catch (e) {
      throw new AzothError(
        'IO',
        'cannot start a read snapshot (too many open snapshots? close the ones you are done with)',
        { cause: e },
      )
    }
    const snapshot = new LmdbStateSnapshot(state, this.limits, transaction, (s) => this.snapshots.delete(s))
    this.snapshots.add(snapshot)
    return snapshot
  }

  head(): EventId {
    this.checkOpen()
    if (!this.readOnly) return this.committedHead
    // A read-only store follows the writer through the last committed chunk or meta record.
    // lmdb-js keeps one read snapshot until a setTimeout(0) fires; drop it so the head is
    // the latest commit, not the one current when this turn's first read happened.
    this.dbs.meta.resetReadTxn()
    return readHead(this.dbs.meta, this.dbs.events)
  }

  events(range: EventRange = {}): IterableIterator<EventRecord> {
    this.checkOpen()
    checkRange(range)
    return this.outliving(this.eventsReader.read(range, this.head()))
  }

  /** An iterator whose steps after `close()` raise `CLOSED`. */
  private outliving<T>(inner: Iterator<T>): IterableIterator<T> {
    return new StoreIterator(inner, () => this.closed)
  }

  getEvent(id: EventId): Uint8Array | undefined {
    this.checkOpen()
    if (!Number.isSafeInteger(id) || id < 1 || id > this.head()) return undefined
    return this.eventsReader.get(id)
  }

  // ---- writes ----

  commit<R>(fn: WriteFn<R>): Promise<CommitResult<R>> {
    if (this.closed || this.closing) return Promise.reject(new ClosedError('the store'))
    if (this.readOnly) return Promise.reject(new AzothError('READ_ONLY', 'the store is open read-only'))
    if (this.sealed !== undefined || this.sealing) {
      return Promise.reject(
        new AzothError('SEALED', `the store is sealed at event ${this.sealed ?? this.committedHead}`),
      )
    }
    if (typeof fn !== 'function') {
      return Promise.reject(new AzothError('INVALID_ARGUMENT', 'commit needs a function'))
    }
    return this.queue.enqueue(fn)
  }

  onCommit(listener: (head: EventId) => void): () => void {
    this.listeners.add(listener)
    return () => this.listeners.delete(listener)
  }

  private notify(head: EventId): void {
    for (const listener of this.listeners) {
      try {
        listener(head)
      } catch (e) {
        this.logger.error({ err: toError(e) }, 'commit listener threw')
      }
    }
  }

  async pause(): Promise<EventId> {
    this.checkOpen()
    this.pausedFlag = true
    await this.queue.pause()
    return this.committedHead
  }

  /**
   * Lets held commits go. Inside a {@link whilePaused} scope (a backup) it does nothing: the copy
   * must see no commit past its head; the end of the last scope resumes.
   */
  resume(): void {
    if (!this.pausedFlag || this.pauseScopes > 0) return
    this.pausedFlag = false
    this.queue.resume()
  }

  /**
   * Pauses, runs `fn(head)`, and resumes in `finally`, so the store resumes whether `fn` returns,
   * throws or rejects; resolves or rejects as `fn` did. Commits issued meanwhile wait and then land.
   * Overlapping scopes share the pause: the store resumes when the last one ends. The end of the
   * last scope resumes the store even if `pause()` had been called by hand (pauses are not counted).
   *
   * @example
   * await store.whilePaused(async (head) => copyEverythingUpTo(head))
   */
  async whilePaused<R>(fn: (head: EventId) => R | Promise<R>): Promise<R> {
    if (typeof fn !== 'function') throw new AzothError('INVALID_ARGUMENT', 'whilePaused needs a function')
    this.checkOpen()
    this.pauseScopes++
    try {
      const head = await this.pause()
      return await fn(head)
    } finally {
      if (--this.pauseScopes === 0) this.resume()
    }
  }

  async seal(): Promise<EventId> {
    this.checkOpen()
    if (this.sealed !== undefined) return this.sealed
    this.sealing = true
    try {
      // Transactions queued before the seal still commit; new ones are refused from now on, and
      // so are those held by a pause (they would otherwise commit past the seal on resume).
      this.queue.rejectHeld(
        () =>
          new AzothError('SEALED', 'the store was sealed while this transaction waited for a pause to end'),
      )
      await this.queue.idle()
      this.sealed = this.committedHead
      return this.sealed
    } finally {
      this.sealing = false
    }
  }

  unseal(): void {
    this.sealed = undefined
  }

  // ---- maintenance ----

  async backup(targetDir: string): Promise<StoreBackupInfo> {
    this.checkOpen()
    return copyBackup(this.dbs.env, targetDir)
  }

  stateDigest(): string {
    this.checkOpen()
    const hash = createHash('sha256')
    const len = Buffer.alloc(4)
    for (const { key, value } of this.dbs.state.getRange({})) {
      len.writeUInt32BE(key.length, 0)
      hash.update(len)
      hash.update(key)
      len.writeUInt32BE(value.length, 0)
      hash.update(len)
      hash.update(value)
    }
    return hash.digest('hex')
  }

  commitStats(): CommitStats {
    const c = this.counters
    return {
      commits: c.commits,
      failedCommits: c.failedCommits,
      groups: c.groups,
      eventsAppended: c.eventsAppended,
      meanGroupSize: c.groups === 0 ? 0 : c.groupMembers / c.groups,
      maxGroupSize: c.maxGroupSize,
    }
  }

  close(): Promise<void> {
    if (this.closing) return this.closing
    this.closing = (async () => {
      // Held commits are let through so nobody waits forever on a closed store.
      this.pausedFlag = false
      this.queue.resume()
      await this.queue.idle()
      this.closed = true
      this.listeners.clear()
      // Snapshots end here (never waited for): their cursors and read transactions are released
      // before LMDB closes, and their later reads raise CLOSED.
      for (const snapshot of [...this.snapshots]) {
        try {
          snapshot.close()
        } catch (e) {
          this.logger.error({ err: toError(e) }, 'releasing a snapshot failed')
        }
      }
      try {
        if (this.eventLog) await this.eventLog.close()
        await this.dbs.env.close()
      } finally {
        this.lock?.release()
      }
    })()
    return this.closing
  }

  private checkOpen(): void {
    if (this.closed) throw new ClosedError('the store')
  }
}

function checkBound(name: string, value: number | undefined, allowInfinity: boolean): void {
  if (value === undefined || (allowInfinity && value === Number.POSITIVE_INFINITY)) return
  if (!Number.isSafeInteger(value) || value < 0) {
    throw new AzothError('INVALID_ARGUMENT', `${name} must be a non-negative integer, got ${String(value)}`, {
      details: { field: name, value },
    })
  }
}

/** Event ranges take whole numbers only: `from`, `to`, `limit` (Infinity allowed for `to` and `limit`). */
function checkRange(range: EventRange): void {
  if (range === null || typeof range !== 'object') {
    throw new AzothError('INVALID_ARGUMENT', 'an event range must be an object like { from, to, limit }')
  }
  checkBound('from', range.from, false)
  checkBound('to', range.to, true)
  checkBound('limit', range.limit, true)
}
