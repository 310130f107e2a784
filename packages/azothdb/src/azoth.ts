import { existsSync, mkdirSync } from 'node:fs'
import { resolve } from 'node:path'
import {
  AzothError,
  type AzothEvent,
  ClosedError,
  type CommitResult,
  CorruptionError,
  type Key,
  type Logger,
  type ScanOptions,
  type StateEntry,
  type TypedValue,
  type WriteFn,
} from '@azothdb/core'
import { acquireProcessLock, type ProcessLock, StripeLockManager, toError } from '@azothdb/core/internal'
import type { Migration, SqlParams } from '@azothdb/projection-sqlite'
import { type FileEventLog, openFileEventLog } from '@azothdb/store-filelog'
import { type LmdbStore, openLmdbStore } from '@azothdb/store-lmdb'
import { backupDatabase } from './backup.js'
import type { BackupManifest } from './backup-manifest.js'
import { CommitMetrics } from './commit-metrics.js'
import {
  type DatabaseManifest,
  type Layout,
  layoutOf,
  prepareLayout,
  readManifest,
} from './database-layout.js'
import { type EventQuery, readEvents } from './event-reader.js'
import type { AzothMetrics } from './metrics.js'
import { type AzothOptions, type ResolvedAzothOptions, resolveOptions } from './options.js'
import { DeadLetters, Projections, type Projector, type ProjectorOptions } from './projections.js'
import { requiredValue } from './required-value.js'
import { restoreFiles } from './restore.js'
import { Snapshot } from './snapshot.js'
import { type SubscribeOptions, Subscription } from './subscription.js'
import { Transaction } from './transaction.js'
import type { TransactionHost } from './transaction-host.js'
import { WriteBatch } from './write-batch.js'

/** A read-only database hears of no commit (the writer is another process): its feeds poll this often. */
const READ_ONLY_POLL_MS = 100

/** @internal What a database is made of. */
export interface AzothParts {
  readonly layout: Layout
  readonly manifest: DatabaseManifest
  readonly options: ResolvedAzothOptions
  readonly store: LmdbStore
  readonly eventLog: FileEventLog | undefined
  readonly projections: Projections
  readonly lock: ProcessLock | undefined
  /** True for `Azoth.openReadOnly` databases: writes raise `READ_ONLY`. */
  readonly readOnly: boolean
}

/**
 * An Azoth database: typed key-value state with ACID transactions, an event log committed
 * atomically with it, and SQL projections of the events. Open one with {@link Azoth.open}.
 *
 * @example
 * await using db = await Azoth.open('./data')
 * await db.transaction().keys(['counter']).execute((tx) => {
 *   tx.update('counter', (v) => TypedValue.i64((v?.asI64() ?? 0n) + 1n))
 *   tx.log('incremented', { by: 1 })
 * })
 * db.get('counter').asI64() // 1n
 */
export class Azoth implements AsyncDisposable {
  /** The directory of this database. */
  readonly dir: string
  /** True for `Azoth.openReadOnly` databases: writes raise `READ_ONLY`. */
  readonly readOnly: boolean
  /** Where events live: `'lmdb'` or `'file'`. */
  readonly eventLogKind: 'lmdb' | 'file'
  /** The logger this database writes to (the `logger` option, or the default pino logger). */
  readonly logger: Logger
  /** @internal */
  readonly store: LmdbStore
  /** @internal */
  readonly projections: Projections
  private readonly parts: AzothParts
  private readonly locks: StripeLockManager
  private readonly commitMetrics = new CommitMetrics()
  private readonly subscriptions = new Set<Subscription>()
  private readonly host: TransactionHost
  /** Dead letters of every projector of this database. */
  readonly deadLetters: DeadLetters
  private closing: Promise<void> | undefined
  private closed = false

  /** @internal use {@link Azoth.open}. */
  constructor(parts: AzothParts) {
    this.parts = parts
    this.dir = parts.layout.dir
    this.readOnly = parts.readOnly
    this.eventLogKind = parts.manifest.eventLog
    this.logger = parts.options.logger
    this.store = parts.store
    this.projections = parts.projections
    this.locks = new StripeLockManager({
      stripes: parts.options.stripes,
      timeoutMs: parts.options.lockTimeoutMs,
    })
    this.deadLetters = new DeadLetters(parts.projections, () => parts.options.clock.now())
    const store = parts.store
    const metrics = this.commitMetrics
    this.host = {
      state: store,
      checkWritable: () => this.checkWritable(),
      lock: (exclusive, shared) => this.locks.acquireOrWait(exclusive, shared),
      commit: (fn) => store.commit(fn),
      recordCommit: (ms) => metrics.recordCommit(ms),
      recordFailure: (e) => metrics.recordFailure(e),
    }
  }

  /**
   * Opens (creating when needed) the database in `dir`. One writer process at a time: another
   * process gets `LOCKED` (use {@link Azoth.openReadOnly} to inspect a database in use).
   */
  static async open(dir: string, options: AzothOptions = {}): Promise<Azoth> {
    const opts = resolveOptions(options)
    const layout = layoutOf(resolve(dir))
    if (!existsSync(layout.dir)) {
      if (!opts.create)
        throw new AzothError('NOT_FOUND', `no Azoth database in ${layout.dir}`, {
          details: { path: layout.dir },
        })
      try {
        mkdirSync(layout.dir, { recursive: true })
      } catch (e) {
        throw new AzothError('IO', `cannot create ${layout.dir}`, { cause: e, details: { path: layout.dir } })
      }
    }
    const lock = acquireProcessLock(layout.lock, `the database in ${layout.dir}`)
    try {
      const manifest = prepareLayout(layout, opts.eventLog, opts.create)
      return await Azoth.assemble(layout, manifest, opts, lock, false)
    } catch (e) {
      lock.release()
      throw e
    }
  }

  /**
   * Opens a database for reading only, also while a writer process runs: reads, events, queries
   * and metrics work; writes raise `READ_ONLY`.
   */
  static async openReadOnly(
    dir: string,
    options: Omit<AzothOptions, 'create' | 'eventLog'> = {},
  ): Promise<Azoth> {
    const opts = resolveOptions(options)
    const layout = layoutOf(resolve(dir))
    const manifest = readManifest(layout)
    if (manifest === undefined)
      throw new AzothError('NOT_FOUND', `no Azoth database in ${layout.dir}`, {
        details: { path: layout.dir },
      })
    return Azoth.assemble(layout, manifest, opts, undefined, true)
  }

  private static async assemble(
    layout: Layout,
    manifest: DatabaseManifest,
    opts: ResolvedAzothOptions,
    lock: ProcessLock | undefined,
    readOnly: boolean,
  ): Promise<Azoth> {
    const logger = opts.logger
    let eventLog: FileEventLog | undefined
    let store: LmdbStore | undefined
    try {
      if (manifest.eventLog === 'file') {
        eventLog = await openFileEventLog(layout.events, {
          readOnly,
          logger,
          ...(opts.segmentBytes === undefined ? {} : { segmentBytes: opts.segmentBytes }),
        })
      }
      store = await openLmdbStore(layout.canonical, {
        readOnly,
        durability: opts.durability,
        limits: opts.limits,
        clock: opts.clock,
        logger,
        ...(eventLog ? { eventLog } : {}),
      })
      const projections = Projections.open(layout, store, opts, readOnly)
      return new Azoth({ layout, manifest, options: opts, store, eventLog, projections, lock, readOnly })
    } catch (e) {
      if (store)
        await store.close().catch((err: unknown) => logger.error({ err }, 'closing after a failed open'))
      else if (eventLog)
        await eventLog.close().catch((err: unknown) => logger.error({ err }, 'closing after a failed open'))
      throw e
    }
  }

  // ---- transactions and writes ----

  /** Starts a transaction: declare keys, add preflight checks, then `execute`. */
  transaction(): Transaction {
    return new Transaction(this)
  }

  /** A batch of writes without preflight or locks, committed atomically. */
  writeBatch(): WriteBatch {
    return new WriteBatch(<R>(fn: WriteFn<R>) => this.commitRaw(fn))
  }

  private commitRaw<R>(fn: WriteFn<R>): Promise<CommitResult<R>> {
    try {
      this.checkWritable()
    } catch (e) {
      return Promise.reject(e)
    }
    return this.store.commit(fn)
  }

  /** @internal for Transaction. */
  get transactionHost(): TransactionHost {
    return this.host
  }

  // ---- reads ----

  /** The value of `key`; `NOT_FOUND` when it has none. */
  get(key: Key): TypedValue {
    return requiredValue(key, this.getOpt(key))
  }

  /** The value of `key`, or undefined. */
  getOpt(key: Key): TypedValue | undefined {
    this.checkOpen()
    return this.store.get(key)
  }

  /** True when `key` has a value in committed state. */
  exists(key: Key): boolean {
    this.checkOpen()
    return this.store.exists(key)
  }

  /** Entries whose key starts with `prefix`, in key order, lazily. Keys come back as the prefix's type. */
  scan(prefix: Key, options?: ScanOptions): IterableIterator<StateEntry> {
    this.checkOpen()
    return this.store.scan(prefix, options)
  }

  /** Entries with `start <= key < end`, in key order, lazily. */
  range(start: Key, end: Key, options?: ScanOptions): IterableIterator<StateEntry> {
    this.checkOpen()
    return this.store.range(start, end, options)
  }

  /**
   * A consistent read view of the committed state: every read through it (`get`, `getBytes`,
   * `exists`, `scan`, `range`) sees the state of one moment, while commits go on, also across
   * `await`s. Its `get` and `getOpt` behave like the database's. Close it
   * when done (`using` does it on scope exit): an open snapshot holds one of LMDB's readers and keeps
   * old pages from being reused. `close()` of the database closes open snapshots; reads after that,
   * or after the snapshot's own `close()`, raise `CLOSED`.
   *
   * @example
   * using snap = db.snapshot()
   * const from = snap.get('alice').asI64()
   * await somethingSlow() // transfers may commit meanwhile
   * const to = snap.getOpt('bob')?.asI64() ?? 0n // same moment as `from`
   * const total = from + to
   */
  snapshot(): Snapshot {
    this.checkOpen()
    return new Snapshot(this.store.snapshot())
  }

  /** The id of the last committed event (0 when there is none). */
  head(): number {
    this.checkOpen()
    return this.store.head()
  }

  /** Stored events, decoded, lazily and in id order. */
  events(query?: EventQuery): Generator<AzothEvent> {
    this.checkOpen()
    return readEvents(this.store, query)
  }

  /** Follows the log: stored events from `from`, then new ones as they commit. */
  subscribe(options: SubscribeOptions = {}): Subscription {
    this.checkOpen()
    const s = new Subscription(
      this.store,
      options,
      (closed) => this.subscriptions.delete(closed),
      this.readOnly ? READ_ONLY_POLL_MS : undefined,
    )
    this.subscriptions.add(s)
    return s
  }

  /** A SHA-256 over the whole state: equal states give equal digests. */
  stateDigest(): string {
    this.checkOpen()
    return this.store.stateDigest()
  }

  // ---- projections ----

  /**
   * The projector named `options.name` (default `'default'`). Pass handlers to create it; later
   * calls with the name alone return it.
   *
   * @example
   * const balances = db.projector({ name: 'balances', handlers: [balancesHandler] })
   * await balances.runOnce()
   */
  projector(options: ProjectorOptions = {}): Projector {
    // Projectors write their tables and cursors: not in a read-only process.
    this.checkWritable()
    return this.projections.projector(options)
  }

  /**
   * Runs a read-only SQL query against the projection (on a reader connection). Every failure,
   * `CLOSED` included, comes as a rejection.
   */
  async query<Row = Record<string, unknown>>(sql: string, params?: SqlParams): Promise<Row[]> {
    this.checkOpen()
    return this.projections.query<Row>(sql, params)
  }

  /**
   * Applies pending projection migrations, each in its own transaction; returns how many ran. Every
   * failure (`CLOSED`, `READ_ONLY` included) comes as a rejection.
   */
  async migrate(migrations: readonly Migration[]): Promise<number> {
    this.checkWritable()
    return this.projections.migrate(migrations)
  }

  /**
   * Drops file-log segments whose events every projector has applied (the file log only; the
   * LMDB log keeps everything). Returns how many events were dropped.
   */
  async compactEventLog(): Promise<number> {
    this.checkWritable()
    const log = this.parts.eventLog
    if (log === undefined) return 0
    const slowest = await this.projections.slowestCursor()
    if (slowest === undefined || slowest < 1) return 0
    return log.deleteBefore(slowest + 1)
  }

  // ---- observability ----

  /** Counters and latency percentiles of commits, preflight, locks, projectors and the DLQ. */
  async metrics(): Promise<AzothMetrics> {
    this.checkOpen()
    const stats = this.store.commitStats()
    return {
      head: this.store.head(),
      transactions: this.commitMetrics.snapshot(this.locks.stats()),
      commits: stats,
      projectors: this.projections.metrics(),
      deadLetters: {
        pending: await this.deadLetters.count({ status: 'pending' }),
        retrying: await this.deadLetters.count({ status: 'retrying' }),
        permanent: await this.deadLetters.count({ status: 'permanent' }),
      },
      subscriptions: this.subscriptions.size,
    }
  }

  // ---- backup ----

  /**
   * Writes a verified backup into `targetDir` (empty or missing): ingestion pauses (commits wait),
   * projectors catch up to the sealed head, everything is copied consistently and listed with
   * SHA-256 checksums and a state digest in `manifest.json`; ingestion resumes however it ends.
   */
  async backupTo(targetDir: string): Promise<BackupManifest> {
    this.checkWritable()
    return backupDatabase(
      {
        layout: this.parts.layout,
        manifest: this.parts.manifest,
        store: this.store,
        eventLog: this.parts.eventLog,
        projections: this.projections,
        logger: this.logger,
      },
      resolve(targetDir),
    )
  }

  /**
   * Verifies a backup (every checksum; `CORRUPTION` when anything is damaged), restores it into an
   * empty `targetDir` and opens it for writing. The state digest is checked after opening.
   */
  static async restoreFrom(
    backupDir: string,
    targetDir: string,
    options: Omit<AzothOptions, 'eventLog'> = {},
  ): Promise<Azoth> {
    const manifest = await restoreFiles(resolve(backupDir), targetDir)
    const db = await Azoth.open(targetDir, { ...options, eventLog: manifest.eventLog })
    if (db.head() !== manifest.sealedEventId || db.stateDigest() !== manifest.stateDigest) {
      await db.close()
      throw new CorruptionError('the restored database does not match its backup manifest', {
        details: { where: targetDir, head: manifest.sealedEventId },
      })
    }
    return db
  }

  // ---- ingestion control ----

  /** Waits for in-flight commits, then holds new ones (they wait, not fail) until `resumeIngestion`. */
  async pauseIngestion(): Promise<number> {
    this.checkWritable()
    return this.store.pause()
  }

  /**
   * Lets commits held by `pauseIngestion` go, in arrival order. Safe to call when not paused. While
   * `backupTo` runs it does nothing (the copy must not see later commits); the backup's end resumes.
   */
  resumeIngestion(): void {
    this.checkOpen()
    this.store.resume()
  }

  /**
   * Refuses new commits with `SEALED` from the current head on, until `unseal`; never persisted.
   * Commits held by `pauseIngestion` are refused with `SEALED` too.
   */
  async seal(): Promise<number> {
    this.checkWritable()
    return this.store.seal()
  }

  /** Accepts commits again after `seal`. */
  unseal(): void {
    this.checkOpen()
    this.store.unseal()
  }

  // ---- lifecycle ----

  private checkOpen(): void {
    if (this.closed || this.closing) throw new ClosedError('the database')
  }

  private checkWritable(): void {
    this.checkOpen()
    if (this.readOnly) throw new AzothError('READ_ONLY', 'the database is open read-only')
  }

  /** Waits for in-flight commits, stops projectors and subscriptions, releases the directory. */
  close(): Promise<void> {
    this.closing ??= (async () => {
      for (const s of [...this.subscriptions]) s.close()
      const errors: unknown[] = []
      const attempt = async (what: string, fn: () => Promise<unknown>) => {
        try {
          await fn()
        } catch (e) {
          errors.push(e)
          this.logger.error({ err: toError(e) }, `closing ${what} failed`)
        }
      }
      await attempt('projectors', () => this.projections.stopAll())
      await attempt('the canonical store', () => this.store.close())
      await attempt('the projection store', () => this.projections.close())
      this.parts.lock?.release()
      this.closed = true
      if (errors.length > 0)
        throw new AzothError('IO', 'the database did not close cleanly', { cause: errors[0] })
    })()
    return this.closing
  }

  /** Closes the database: what `await using db = await Azoth.open(...)` calls on scope exit. */
  async [Symbol.asyncDispose](): Promise<void> {
    await this.close()
  }
}
