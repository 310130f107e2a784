import type { VerifyReport } from '@azothdb/core'
import {
  AzothError,
  type CanonicalStore,
  ClosedError,
  type CommitOptions,
  type CommitResult,
  type CommitStats,
  type Durability,
  decodeTypedValue,
  type EventId,
  type EventLog,
  type EventRange,
  type EventRecord,
  type IdempotencyWindow,
  type Key,
  type Limits,
  type Logger,
  type ScanOptions,
  type StateEntry,
  type StateSnapshot,
  type StoreBackupInfo,
  type StreamInfo,
  type TypedValue,
  type WriteFn,
} from '@azothdb/core'
import { type ProcessLock, type StreamIndexRange, toError } from '@azothdb/core/internal'
import type { Transaction } from 'lmdb'
import { CommitQueue } from './commit-queue.js'
import { CommitState } from './commit-state.js'
import { checkRange } from './event-range.js'
import { EventsReader, type ReadAheadTarget } from './events-reader.js'
import { readValue, readValueCopy } from './fast-read.js'
import { groupWriter } from './group-writer.js'
import { claimOf, IdempotencyTable } from './idempotency-table.js'
import { settleFailedCommit } from './lmdb-commit.js'
import { lookupKey } from './lookup-key.js'
import { readHead } from './meta.js'
import type { SpaceReserve } from './space-reserve.js'
import { stateDigest } from './state-digest.js'
import { scanState } from './state-scan.js'
import { LmdbStateSnapshot } from './state-snapshot.js'
import { copyBackup } from './store-backup.js'
import type { StoreDatabases } from './store-databases.js'
import { StoreIterator } from './store-iterator.js'
import { verifyStore } from './store-verify.js'
import { checkStreamRange, StreamReads, type StreamRecord, type StreamVisitor } from './stream-reads.js'

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
  /** The data file long event scans read ahead on a worker thread; undefined: they check inline. */
  readonly readAhead: ReadAheadTarget | undefined
  readonly lock: ProcessLock | undefined
  readonly reserve: SpaceReserve | undefined
  readonly idempotency: IdempotencyWindow
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
  private readonly reserve: SpaceReserve | undefined
  private readonly queue: CommitQueue
  /** Open snapshots: closing the store closes them. */
  private readonly snapshots = new Set<LmdbStateSnapshot>()
  /** Running `whilePaused` scopes: the last one to end resumes. */
  private pauseScopes = 0
  private readonly eventsReader: EventsReader
  private readonly streamReads: StreamReads
  private readonly commitState: CommitState
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
    this.reserve = init.reserve
    this.commitState = new CommitState(readHead(init.dbs.meta, init.dbs.events), init.logger)
    this.eventsReader = new EventsReader(init.dbs, init.eventLog, init.readAhead, init.logger)
    this.streamReads = new StreamReads(init.dbs, this.eventsReader, init.eventLog)
    this.queue = new CommitQueue(
      groupWriter({
        dbs: init.dbs,
        limits: init.limits,
        clock: init.clock,
        logger: init.logger,
        eventLog: init.eventLog,
        eventChunkBytes: init.eventChunkBytes,
        durability: init.durability,
        commitState: this.commitState,
        reserve: init.reserve,
        idempotency:
          init.dbs.idempotency === undefined || init.readOnly
            ? undefined
            : new IdempotencyTable(init.dbs.idempotency, init.idempotency),
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
    const bytes = readValue(this.dbs.state, lookupKey(key, this.limits))
    return bytes === undefined ? undefined : decodeTypedValue(bytes)
  }

  getBytes(key: Key): Uint8Array | undefined {
    this.checkOpen()
    return readValueCopy(this.dbs.state, lookupKey(key, this.limits))
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
    if (!this.readOnly) return this.commitState.committedHead
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

  // ---- streams ----

  /** The version of the stream's last committed event, or undefined when the stream has none. */
  streamVersion(stream: string): bigint | undefined {
    this.checkOpen()
    return this.streamReads.version(stream, this.head())
  }

  /**
   * The stream's committed events within `range` (inclusive versions), read through the stream
   * index, lazily. An event compacted away by the file log raises `NOT_FOUND` when reached.
   */
  readStream(stream: string, range?: StreamIndexRange): IterableIterator<StreamRecord> {
    this.checkOpen()
    return this.outliving(this.streamReads.records(stream, checkStreamRange(range), this.head()))
  }

  /** {@link readStream}'s events, checks and errors, each handed to `visit` within this call. */
  visitStream(stream: string, range: StreamIndexRange | undefined, visit: StreamVisitor): void {
    this.checkOpen()
    this.streamReads.forEach(stream, checkStreamRange(range), this.head(), visit)
  }

  /** Streams whose names start with `prefix` (all with `''`), in name order, with their versions. */
  streams(prefix = ''): IterableIterator<StreamInfo> {
    this.checkOpen()
    return this.outliving(this.streamReads.list(prefix, this.head()))
  }

  // ---- writes ----

  commit<R>(fn: WriteFn<R>, options?: CommitOptions): Promise<CommitResult<R>> {
    if (this.closed || this.closing) return Promise.reject(new ClosedError('the store'))
    if (this.readOnly) return Promise.reject(new AzothError('READ_ONLY', 'the store is open read-only'))
    if (this.sealed !== undefined || this.sealing) {
      const at = this.sealed ?? this.commitState.committedHead
      return Promise.reject(new AzothError('SEALED', `the store is sealed at event ${at}`))
    }
    if (typeof fn !== 'function') {
      return Promise.reject(new AzothError('INVALID_ARGUMENT', 'commit needs a function'))
    }
    try {
      return this.queue.enqueue(fn, claimOf(options))
    } catch (e) {
      return Promise.reject(e)
    }
  }

  onCommit(listener: (head: EventId) => void): () => void {
    return this.commitState.onCommit(listener)
  }

  async pause(): Promise<EventId> {
    this.checkOpen()
    this.pausedFlag = true
    await this.queue.pause()
    return this.commitState.committedHead
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
      this.sealed = this.commitState.committedHead
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
    return stateDigest(this.dbs.state)
  }

  /**
   * Walks every state entry and every event up to the head (in LMDB, or the external event log)
   * and checks each one's checksum, the gapless ids and LMDB's own entry count, reporting what is
   * damaged and where instead of throwing. Runs in slices between which commits go on.
   */
  async verify(): Promise<VerifyReport> {
    this.checkOpen()
    return verifyStore({
      dbs: this.dbs,
      external: this.eventLog,
      head: () => this.head(),
      isClosed: () => this.closed || this.closing !== undefined,
      getEvents: (ids, count, out) => this.eventsReader.getMany(ids, count, out),
    })
  }

  commitStats(): CommitStats {
    return this.commitState.stats()
  }

  close(): Promise<void> {
    if (this.closing) return this.closing
    this.closing = (async () => {
      // Held commits are let through so nobody waits forever on a closed store.
      this.pausedFlag = false
      this.queue.resume()
      await this.queue.idle()
      this.closed = true
      this.commitState.clearListeners()
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
        // The read-ahead worker shares the LMDB environment: it lets go of it before the store does.
        await this.eventsReader.close()
        if (this.eventLog) await this.eventLog.close()
        if (this.commitState.lmdbCommitFailed) await settleFailedCommit(this.dbs.meta, this.logger)
        await this.dbs.env.close()
      } finally {
        this.reserve?.close()
        this.lock?.release()
      }
    })()
    return this.closing
  }

  private checkOpen(): void {
    if (this.closed) throw new ClosedError('the store')
  }
}
