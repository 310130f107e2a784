import { resolve } from 'node:path'
import type {
  AnyEvents,
  CommitOptions,
  EventOf,
  Key,
  Logger,
  ProjectionTxControl,
  ScanOptions,
  StateEntry,
  TypedValue,
  VerifyReport,
  WriteFn,
} from '@azothdb/core'
import { checkArgument, checkArgumentFields, rules } from '@azothdb/core/internal'
import type { SqliteTx } from '@azothdb/projection-sqlite'
import type { AzothMetrics } from './azoth-metrics.js'
import { type BackupOptions, backupDatabase } from './backup.js'
import { type BackupManifest, readBackupManifest } from './backup-manifest.js'
import { closeParts } from './close-parts.js'
import { compactEventLog } from './compact-event-log.js'
import { bindProjections, DatabaseProjections } from './database-projections.js'
import { bindStreams } from './database-streams.js'
import { DeadLetters } from './dead-letters.js'
import { DecodedEvents, EVENT_QUERY_FIELDS, type EventQuery } from './event-reader.js'
import type { IngestionState } from './ingestion-state.js'
import { type MetricsOptions, readMetrics } from './metrics.js'
import { type DatabaseParts, openReadOnly, openWritable } from './open-database.js'
import { type AzothOptions, READ_ONLY_OPTIONS, RESTORE_OPTIONS, resolveOptions } from './options.js'
import { requiredValue } from './required-value.js'
import { checkTargetDir, restoreDatabase } from './restore.js'
import { SCAN_OPTION_FIELDS, Snapshot } from './snapshot.js'
import { type SubscribeOptions, Subscription } from './subscription.js'
import { Transaction } from './transaction.js'
import { verifyDatabase } from './verify.js'
import { WriteBatch } from './write-batch.js'
import { WritePath } from './write-path.js'

/** A read-only database hears of no commit (the writer is another process): its feeds poll this often. */
const READ_ONLY_POLL_MS = 100

/**
 * An Azoth database: typed key-value state with ACID transactions, an event log committed
 * atomically with it, and SQL projections of the events. Open one with {@link Azoth.open}. `Tx` is
 * the projection's transaction, which projector handlers and migrations see (`SqliteTx` unless
 * the `projection` option chose another store).
 *
 * @example
 * const db = await Azoth.open('./data')
 * try {
 *   await db.transaction().keys(['counter']).execute((tx) => {
 *     tx.update('counter', (v) => TypedValue.i64((v?.asI64() ?? 0n) + 1n))
 *     tx.log('incremented', { by: 1 })
 *   })
 *   db.get('counter').asI64() // 1n
 * } finally {
 *   await db.close()
 * }
 */
export class Azoth<Tx extends ProjectionTxControl = SqliteTx, E = AnyEvents>
  extends DatabaseProjections<Tx, E>
  implements AsyncDisposable
{
  /** The directory of this database. */
  readonly dir: string
  /** True for `Azoth.openReadOnly` databases: writes raise `READ_ONLY`. */
  readonly readOnly: boolean
  /** Where events live: `'lmdb'` or `'file'`. */
  readonly eventLogKind: 'lmdb' | 'file'
  /** The logger this database writes to (the `logger` option, or the default pino logger). */
  readonly logger: Logger
  /** Dead letters of every projector of this database. */
  readonly deadLetters: DeadLetters
  readonly #parts: DatabaseParts
  readonly #write: WritePath
  readonly #subscriptions = new Set<Subscription<E>>()
  #closing: Promise<void> | undefined

  private constructor(parts: DatabaseParts) {
    super()
    this.#parts = parts
    this.dir = parts.layout.dir
    this.readOnly = parts.readOnly
    this.eventLogKind = parts.manifest.eventLog
    this.logger = parts.options.logger
    this.#write = new WritePath(parts.store, parts.readOnly, parts.options)
    bindStreams(this, parts.store, this.#write)
    bindProjections(this, parts.projection, this.#write)
    this.deadLetters = new DeadLetters(parts.projection, () => parts.options.clock.now())
  }

  /**
   * Opens (creating when needed) the database in `dir`. One writer process at a time: another
   * process gets `LOCKED` (use {@link Azoth.openReadOnly} to inspect a database in use).
   */
  static async open<Tx extends ProjectionTxControl = SqliteTx, E = AnyEvents>(
    dir: string,
    options?: AzothOptions<Tx, E>,
  ): Promise<Azoth<Tx, E>> {
    const resolved = resolveOptions('Azoth.open', options)
    return new Azoth<Tx, E>(await openWritable(resolve(checkArgument('dir', dir, rules.path)), resolved))
  }

  /**
   * Opens a database for reading only, also while a writer process runs: reads, events, queries
   * and metrics work; writes raise `READ_ONLY`.
   */
  static async openReadOnly<Tx extends ProjectionTxControl = SqliteTx, E = AnyEvents>(
    dir: string,
    options?: Omit<AzothOptions<Tx, E>, 'create' | 'eventLog'>,
  ): Promise<Azoth<Tx, E>> {
    const resolved = resolveOptions('Azoth.openReadOnly', options, READ_ONLY_OPTIONS)
    return new Azoth<Tx, E>(await openReadOnly(resolve(checkArgument('dir', dir, rules.path)), resolved))
  }

  // ---- transactions and writes ----

  /** Starts a transaction: declare keys, add preflight checks, then `execute`. */
  transaction(): Transaction<E> {
    return new Transaction<E>(this.#write)
  }

  /** A batch of writes without preflight or locks, committed atomically. */
  writeBatch(): WriteBatch<E> {
    const write = this.#write
    return new WriteBatch<E>(<R>(fn: WriteFn<R>, options?: CommitOptions) =>
      write.commitUnlocked(fn, options),
    )
  }

  // ---- reads ----

  /** The value of `key`; `NOT_FOUND` when it has none. */
  get(key: Key): TypedValue {
    return requiredValue(key, this.getOpt(key))
  }

  /** The value of `key`, or undefined. */
  getOpt(key: Key): TypedValue | undefined {
    this.#write.checkOpen()
    return this.#parts.store.get(key)
  }

  /** True when `key` has a value in committed state. */
  exists(key: Key): boolean {
    this.#write.checkOpen()
    return this.#parts.store.exists(key)
  }

  /** Entries whose key starts with `prefix`, in key order, lazily. Keys come back as the prefix's type. */
  scan(prefix: Key, options?: ScanOptions): IterableIterator<StateEntry> {
    this.#write.checkOpen()
    checkArgument('prefix', prefix, rules.key)
    checkArgumentFields('options', options, SCAN_OPTION_FIELDS)
    return this.#parts.store.scan(prefix, options)
  }

  /** Entries with `start <= key < end`, in key order, lazily. */
  range(start: Key, end: Key, options?: ScanOptions): IterableIterator<StateEntry> {
    this.#write.checkOpen()
    checkArgument('start', start, rules.key)
    checkArgument('end', end, rules.key)
    checkArgumentFields('options', options, SCAN_OPTION_FIELDS)
    return this.#parts.store.range(start, end, options)
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
   * const snap = db.snapshot()
   * try {
   *   const from = snap.get('alice').asI64()
   *   await somethingSlow() // transfers may commit meanwhile
   *   const to = snap.getOpt('bob')?.asI64() ?? 0n // same moment as `from`
   * } finally {
   *   snap.close()
   * }
   */
  snapshot(): Snapshot {
    this.#write.checkOpen()
    return new Snapshot(this.#parts.store.snapshot())
  }

  /** The id of the last committed event (0 when there is none). */
  head(): number {
    this.#write.checkOpen()
    return this.#parts.store.head()
  }

  /** Stored events, decoded, lazily and in id order. */
  events(query?: EventQuery): Generator<EventOf<E>> {
    this.#write.checkOpen()
    checkArgumentFields('query', query, EVENT_QUERY_FIELDS)
    return new DecodedEvents(this.#parts.store, query) as Generator<EventOf<E>>
  }

  /** Follows the log: stored events from `from`, then new ones as they commit. */
  subscribe(options: SubscribeOptions = {}): Subscription<E> {
    this.#write.checkOpen()
    const subscriptions = this.#subscriptions
    const s = new Subscription<E>(
      this.#parts.store,
      this.#parts.options.clock,
      options,
      (closed) => subscriptions.delete(closed),
      this.readOnly ? READ_ONLY_POLL_MS : undefined,
    )
    subscriptions.add(s)
    return s
  }

  /** A SHA-256 over the whole state: equal states give equal digests. */
  stateDigest(): string {
    this.#write.checkOpen()
    return this.#parts.store.stateDigest()
  }

  /**
   * Walks the whole database and reports (`{ ok, problems: [{ kind, where, detail }], checked }`)
   * what is damaged and where, instead of throwing: every state value's and event's checksum,
   * gapless event ids, projection cursors at or below the head, dead letters naming stored events.
   */
  verify(): Promise<VerifyReport> {
    this.#write.checkOpen()
    return verifyDatabase(this.#parts, this.logger)
  }

  /**
   * Drops file-log segments whose events every projector has applied (the file log only; the
   * LMDB log keeps everything). Returns how many events were dropped.
   */
  async compactEventLog(): Promise<number> {
    this.#write.checkWritable()
    return compactEventLog(this.#parts)
  }

  // ---- observability ----

  /** Counters and latency percentiles of commits, preflight, locks, projectors and the DLQ. */
  metrics(options?: { readonly format?: 'object' }): Promise<AzothMetrics>
  /** The same figures as Prometheus text exposition (`azoth_` names, seconds, a `projector` label). */
  metrics(options: { readonly format: 'prometheus' }): Promise<string>
  /** Either, as `options.format` says (for options chosen at run time). */
  metrics(options?: MetricsOptions): Promise<AzothMetrics | string>
  async metrics(options?: MetricsOptions): Promise<AzothMetrics | string> {
    this.#write.checkOpen()
    const { store, projection } = this.#parts
    const sources = { store, projection, deadLetters: this.deadLetters, subscriptions: this.#subscriptions }
    return readMetrics(sources, this.#write.metrics(), options)
  }

  // ---- backup ----

  /**
   * Writes a verified backup into `targetDir` (empty or missing): ingestion pauses (commits wait),
   * projectors catch up to the sealed head, everything is copied consistently and listed with
   * SHA-256 checksums and a state digest in `manifest.json`; ingestion resumes however it ends, and a
   * failed backup leaves the target as it was found. The catch-up is bounded (`catchUpTimeoutMs`,
   * default 60 s): past it the backup fails with `TIMEOUT`.
   */
  async backupTo(targetDir: string, options?: BackupOptions): Promise<BackupManifest> {
    this.#write.checkWritable()
    const target = checkTargetDir('targetDir', targetDir)
    return backupDatabase(this.#parts, target, options)
  }

  /**
   * Verifies a backup (every checksum; `CORRUPTION` when anything is damaged), restores it into an
   * empty or missing `targetDir` and opens it for writing. All or nothing: the database is built in
   * a temporary sibling directory, opened there to check its head and state digest against the
   * manifest, synced, and only then renamed to `targetDir`; a restore that fails or is killed
   * leaves `targetDir` as it was (a rerun removes what a killed one left).
   */
  static async restoreFrom<Tx extends ProjectionTxControl = SqliteTx, E = AnyEvents>(
    backupDir: string,
    targetDir: string,
    options?: Omit<AzothOptions<Tx, E>, 'eventLog'>,
  ): Promise<Azoth<Tx, E>> {
    const resolved = resolveOptions('Azoth.restoreFrom', options, RESTORE_OPTIONS)
    const from = resolve(checkArgument('backupDir', backupDir, rules.path))
    const target = checkTargetDir('targetDir', targetDir)
    return new Azoth<Tx, E>(await restoreDatabase(from, target, resolved))
  }

  /**
   * Reads a backup's `manifest.json` and checks it, as {@link Azoth.restoreFrom} does first: its
   * checksum, then its shape; a damaged, missing or unknown manifest is `CORRUPTION` naming it. The
   * files it lists are not read (restore checks them). A manifest of a backup made before manifests
   * had checksums (`format` 1) cannot be checked: it comes back without `checksum`.
   */
  static readBackupManifest(backupDir: string): BackupManifest {
    return readBackupManifest(resolve(checkArgument('backupDir', backupDir, rules.path)))
  }

  // ---- ingestion control ----

  /** Waits for in-flight commits, then holds new ones (they wait, not fail) until `resumeIngestion`. */
  async pauseIngestion(): Promise<number> {
    this.#write.checkWritable()
    return this.#published(await this.#parts.store.pause())
  }

  /**
   * Lets commits held by `pauseIngestion` go, in arrival order. Safe to call when not paused. While
   * `backupTo` runs it does nothing (the copy must not see later commits); the backup's end resumes.
   */
  resumeIngestion(): void {
    this.#write.checkOpen()
    this.#published(this.#parts.store.resume())
  }

  /**
   * Refuses new commits with `SEALED` from the current head on, until `unseal`; never persisted.
   * Commits held by `pauseIngestion` are refused with `SEALED` too.
   */
  async seal(): Promise<number> {
    this.#write.checkWritable()
    return this.#published(await this.#parts.store.seal())
  }

  /** Accepts commits again after `seal`. */
  unseal(): void {
    this.#write.checkOpen()
    this.#published(this.#parts.store.unseal())
  }

  /** Whether commits are paused or sealed now (read-only: as the writer process publishes it). */
  ingestionState(): IngestionState {
    this.#write.checkOpen()
    return this.#parts.ingestion.read()
  }

  /** Mirrors a pause or seal change for other processes; passes `result` through. */
  #published<T>(result: T): T {
    this.#parts.ingestion.publish()
    return result
  }

  // ---- lifecycle ----

  /** Waits for in-flight commits, stops projectors and subscriptions, releases the directory. */
  close(): Promise<void> {
    this.#closing ??= this.#close()
    return this.#closing
  }

  async #close(): Promise<void> {
    this.#write.close()
    for (const s of [...this.#subscriptions]) s.close()
    await closeParts(this.#parts, this.logger)
  }

  /** Closes the database: what `await using db = await Azoth.open(...)` calls on scope exit. */
  async [Symbol.asyncDispose](): Promise<void> {
    await this.close()
  }
}
