import { existsSync } from 'node:fs'
import {
  AzothError,
  type Clock,
  ClosedError,
  type EventId,
  LockedError,
  type Logger,
  Migrator,
  type ProjectionBackupInfo,
  type ProjectionStore,
} from '@azothdb/core'
import Database from 'better-sqlite3'
import { SqliteDeadLetterStore } from './dead-letter-table.js'
import { checkSeal, removeSeal, type SealCheck, sealPathOf, walHasFrames, writeSeal } from './file-seal.js'
import { checkSqliteIntegrity } from './integrity-check.js'
import { type Migration, SQLITE_MIGRATION_HISTORY } from './migrations.js'
import { ReaderPool, runQuery } from './reader-pool.js'
import { backupConnection, backupFile, readBackupCursors } from './sqlite-backup.js'
import { SqliteTx, type SqlParams } from './sqlite-tx.js'
import { StatementCache } from './statement-cache.js'
import {
  resolveStoreOptions,
  type SqliteProjectionStoreOptions,
  type SqliteSynchronous,
} from './store-options.js'
import { ensureSystemTables } from './system-tables.js'
import { WriterLock } from './writer-lock.js'

/**
 * Projections on one SQLite file: a single writer connection (WAL, `IMMEDIATE` transactions,
 * cached prepared statements), read-only reader connections for queries, and the system tables
 * `_azoth_cursors`, `_azoth_dead_letters`, `_azoth_migrations` and `_azoth_meta`.
 *
 * @example
 * const store = SqliteProjectionStore.open({ path: 'projection.db' })
 * await store.migrator([{ version: 1, name: 'balances', up: (tx) => tx.exec('CREATE TABLE ...') }]).up()
 * const rows = await store.query('SELECT * FROM balances WHERE id = ?', ['alice'])
 */
export class SqliteProjectionStore implements ProjectionStore<SqliteTx> {
  readonly backend = 'sqlite'
  /** The database file the store was opened on, or `':memory:'`. */
  readonly path: string
  /** The SQLite `synchronous` pragma in effect, fixed at open; see {@link SqliteSynchronous}. */
  readonly synchronous: SqliteSynchronous
  readonly deadLetters: SqliteDeadLetterStore
  /** Opened for reading only: queries, cursors and dead-letter reads work; writes raise `READ_ONLY`. */
  readonly readOnly: boolean
  /**
   * What the open learned from the file's seal (its checksums at its last clean close):
   * `'verified'`, `'unsealed'` (opened unverified: the last writer did not close cleanly, or the
   * file is new or in memory) or `'stale'` (a seal that no longer described the file, ignored).
   */
  readonly sealAtOpen: SealCheck
  private readonly db: Database.Database
  private readonly statements: StatementCache
  // A fresh SqliteTx per transaction: a handler the projector abandoned (timed out) may still hold the
  // last one, and its late writes must fail instead of landing in the next transaction.
  private tx: SqliteTx
  private readonly lock = new WriterLock()
  private readonly readers: ReaderPool | undefined
  private readonly clock: Clock
  private readonly logger: Logger
  private readonly busyTimeoutMs: number
  private closed = false
  /** A seal is on disk and must go before the first write (a sealed file that changed is `CORRUPTION`). */
  private sealed = false
  /** This store may have changed the file: its close seals it (an untouched one is left as it was). */
  private wrote = false

  private constructor(options: SqliteProjectionStoreOptions) {
    const resolved = resolveStoreOptions(options)
    const { readers, busyTimeoutMs, statementCacheSize: cacheSize } = resolved
    this.path = resolved.path
    this.synchronous = resolved.synchronous
    this.clock = resolved.clock
    this.logger = resolved.logger
    this.readOnly = resolved.readOnly
    this.busyTimeoutMs = busyTimeoutMs
    this.sealAtOpen = this.path === ':memory:' ? 'unsealed' : checkSeal(this.path, this.logger)
    this.sealed = this.sealAtOpen === 'verified'
    // A stale seal only goes in the way: the writer drops it before SQLite may create or repair the file.
    if (this.sealAtOpen === 'stale' && !this.readOnly) removeSeal(this.path)
    try {
      this.db = new Database(this.path, this.readOnly ? { readonly: true, fileMustExist: true } : undefined)
    } catch (e) {
      const missing = this.readOnly && !existsSync(this.path)
      throw new AzothError(missing ? 'NOT_FOUND' : 'IO', `cannot open SQLite database ${this.path}`, {
        cause: e,
      })
    }
    try {
      this.db.pragma(`busy_timeout = ${busyTimeoutMs}`)
      // A read-only connection changes nothing: the writer process set WAL and made the tables.
      if (!this.readOnly) {
        const mode = this.db.pragma('journal_mode = WAL', { simple: true })
        if (mode !== 'wal' && this.path !== ':memory:') {
          throw new AzothError('IO', `SQLite refused WAL mode for ${this.path} (got ${String(mode)})`)
        }
        this.db.pragma(`synchronous = ${this.synchronous}`)
        this.db.pragma('foreign_keys = ON')
        ensureSystemTables(this.db)
        // A writer in another process may have sealed the file since the check: its seal must go too.
        if (!this.sealed && this.path !== ':memory:' && existsSync(sealPathOf(this.path))) this.sealed = true
        // A new file, or an upgrade of the system tables, writes at open; a no-op (the usual case) does not.
        this.wrote = this.path !== ':memory:' && walHasFrames(this.path)
        if (this.sealed && this.wrote) this.unseal()
      }
    } catch (e) {
      this.db.close()
      if (e instanceof AzothError) throw e
      throw new AzothError('IO', `cannot prepare SQLite database ${this.path}`, { cause: e })
    }
    this.statements = new StatementCache(this.db, cacheSize)
    this.tx = new SqliteTx(this.db, this.statements, this.clock)
    this.readers = this.path === ':memory:' || readers === 0 ? undefined : new ReaderPool(this.path, readers)
    this.deadLetters = new SqliteDeadLetterStore((fn, writes) => this.withWriter(fn, writes), this.readOnly)
  }

  /** Opens (creating when missing) a projection database. Bad options raise `CONFIG`. */
  static open(options: SqliteProjectionStoreOptions): SqliteProjectionStore {
    return new SqliteProjectionStore(options)
  }

  async getCursor(projector: string): Promise<EventId> {
    return this.withWriter((s) => {
      const row = s.get('SELECT event_id FROM _azoth_cursors WHERE projector = ?').get(projector) as
        | { event_id: number }
        | undefined
      return row?.event_id ?? 0
    })
  }

  async cursors(): Promise<Record<string, EventId>> {
    return this.withWriter((s) => {
      const out: Record<string, EventId> = {}
      for (const row of s.get('SELECT projector, event_id FROM _azoth_cursors').all() as Array<{
        projector: string
        event_id: number
      }>) {
        out[row.projector] = row.event_id
      }
      return out
    })
  }

  /**
   * One `BEGIN IMMEDIATE` ... `COMMIT`. A synchronous `fn` runs and commits within the call (the
   * returned promise is already settled); an async `fn` keeps the writer until it settles, and
   * other transactions of this store wait for it.
   */
  transaction<R>(fn: (tx: SqliteTx) => R | Promise<R>): Promise<R> {
    if (this.closed) return Promise.reject(new ClosedError('projection store'))
    if (this.readOnly)
      return Promise.reject(new AzothError('READ_ONLY', 'the projection store is open read-only'))
    if (this.lock.tryAcquire()) return this.runTransaction(fn)
    return this.lock.acquire().then(() => this.runTransaction(fn))
  }

  /**
   * Runs `fn` synchronously in one transaction, for callers that use this store directly.
   * Raises `LOCKED` when an asynchronous transaction holds the writer.
   */
  transactionSync<R>(fn: (tx: SqliteTx) => R): R {
    if (this.closed) throw new ClosedError('projection store')
    if (this.readOnly) throw new AzothError('READ_ONLY', 'the projection store is open read-only')
    if (!this.lock.tryAcquire()) {
      throw new LockedError('an asynchronous transaction holds the projection writer')
    }
    try {
      this.begin()
      this.tx = new SqliteTx(this.db, this.statements, this.clock)
      this.tx.active = true
      let result: R
      try {
        result = fn(this.tx)
        this.statements.get('COMMIT').run()
      } catch (e) {
        this.rollback()
        throw e
      }
      return result
    } finally {
      this.tx.finish()
      this.lock.release()
    }
  }

  private runTransaction<R>(fn: (tx: SqliteTx) => R | Promise<R>): Promise<R> {
    if (this.closed) {
      // Queued behind close(): the connection is gone.
      this.lock.release()
      return Promise.reject(new ClosedError('projection store'))
    }
    try {
      this.begin()
    } catch (e) {
      this.lock.release()
      return Promise.reject(e)
    }
    this.tx = new SqliteTx(this.db, this.statements, this.clock)
    this.tx.active = true
    let result: R | Promise<R>
    try {
      result = fn(this.tx)
    } catch (e) {
      this.end(false)
      return Promise.reject(e)
    }
    if (result instanceof Promise || isPromiseLike(result)) {
      return Promise.resolve(result).then(
        (value) => {
          this.end(true)
          return value
        },
        (e: unknown) => {
          this.end(false)
          throw e
        },
      )
    }
    try {
      this.end(true)
    } catch (e) {
      return Promise.reject(e)
    }
    return Promise.resolve(result)
  }

  private begin(): void {
    this.wrote = true
    if (this.sealed) this.unseal()
    try {
      this.statements.get('BEGIN IMMEDIATE').run()
    } catch (e) {
      throw new AzothError('IO', `cannot begin a write transaction on ${this.path}`, { cause: e })
    }
  }

  /** Commits or rolls back, then always frees the writer. */
  private end(commit: boolean): void {
    try {
      if (commit) {
        try {
          this.statements.get('COMMIT').run()
        } catch (e) {
          this.rollback()
          throw new AzothError('IO', `commit failed on ${this.path}`, { cause: e })
        }
      } else {
        this.rollback()
      }
    } finally {
      this.tx.finish()
      this.lock.release()
    }
  }

  private rollback(): void {
    if (!this.db.inTransaction) return
    try {
      this.statements.get('ROLLBACK').run()
    } catch (e) {
      // The connection is unusable if even ROLLBACK fails; say so loudly, the original error wins.
      this.logger.error({ err: e, path: this.path }, 'SQLite ROLLBACK failed')
    }
  }

  /** Removes the seal before the first write: the file is about to change. */
  private unseal(): void {
    removeSeal(this.path)
    this.sealed = false
  }

  /**
   * Runs `fn` on the writer connection outside any transaction, once the writer is free; `writes`
   * when `fn` may change the file.
   */
  private async withWriter<R>(fn: (statements: StatementCache) => R, writes = false): Promise<R> {
    if (this.closed) throw new ClosedError('projection store')
    await this.lock.acquire()
    try {
      if (this.closed) throw new ClosedError('projection store')
      if (writes) {
        this.wrote = true
        if (this.sealed) this.unseal()
      }
      return fn(this.statements)
    } finally {
      this.lock.release()
    }
  }

  /**
   * Rows of a read-only query, from a reader connection (it sees committed data only). Every
   * failure is an Azoth error with SQLite's as `cause`: `INVALID_ARGUMENT` for SQL that does not
   * prepare or fails to run, bad parameters, and statements that write or return no rows;
   * `CORRUPTION` for a damaged file; `IO` otherwise (I/O errors, a busy file...).
   */
  async query<Row = Record<string, unknown>>(sql: string, params?: SqlParams): Promise<Row[]> {
    if (this.closed) throw new ClosedError('projection store')
    if (this.readers) return this.readers.all<Row>(sql, params)
    return this.withWriter((s) => {
      const stmt = s.get(sql)
      if (!stmt.readonly) {
        throw new AzothError('INVALID_ARGUMENT', 'query accepts read-only statements only', {
          details: { sql },
        })
      }
      return runQuery<Row>(stmt, sql, params)
    })
  }

  /**
   * Versioned migrations of the projection tables. Duplicate, non-consecutive or vanished versions
   * raise `CONFIG`.
   */
  migrator(migrations: readonly Migration[]): Migrator<SqliteTx> {
    return new Migrator(this, SQLITE_MIGRATION_HISTORY, migrations, this.clock)
  }

  /**
   * SQLite's `quick_check` of the file (every page and record), in a worker thread from a
   * read-only connection: the writer goes on. The problems found, empty for an intact file; `IO`
   * when the file cannot be read at all. In memory, the check runs on the writer.
   */
  async checkIntegrity(): Promise<readonly string[]> {
    if (this.closed) throw new ClosedError('projection store')
    if (this.path !== ':memory:') return checkSqliteIntegrity(this.path, this.busyTimeoutMs)
    return this.withWriter((s) => {
      const found = (s.get('PRAGMA quick_check').all() as Array<Record<string, unknown>>).map((row) =>
        String(Object.values(row)[0]),
      )
      return found.length === 1 && found[0] === 'ok' ? [] : found
    })
  }

  /**
   * A consistent copy into the file `target` through SQLite's online backup API, read from a
   * separate connection so the writer goes on. Commits of the writer restart the backup; each restart
   * doubles the pages copied per step, so it ends under any write load. Failures raise `IO`.
   */
  async backup(target: string): Promise<ProjectionBackupInfo> {
    if (this.closed) throw new ClosedError('projection store')
    if (this.path === ':memory:') {
      await this.withWriter(() => undefined)
      await backupConnection(this.db, this.path, target)
    } else {
      await backupFile(this.path, target)
    }
    return { files: [target], cursors: readBackupCursors(target) }
  }

  /**
   * Waits for the running transaction, then closes every connection; later calls raise `CLOSED`.
   * A writer that changed the file then seals it (checksums of every 64 KiB, read back once: about
   * a second per GB), unless another connection still holds it; see {@link sealAtOpen}.
   */
  async close(): Promise<void> {
    if (this.closed) return
    await this.lock.acquire()
    this.closed = true
    try {
      this.readers?.close()
      this.statements.clear()
      this.db.close()
      // Untouched, the file is left as it was (sealed or not): a failed open changes no file.
      if (this.wrote && !this.readOnly && this.path !== ':memory:') writeSeal(this.path, this.logger)
    } finally {
      this.lock.release()
    }
  }
}

function isPromiseLike(value: unknown): value is PromiseLike<unknown> {
  return (
    value !== null && typeof value === 'object' && typeof (value as { then?: unknown }).then === 'function'
  )
}
