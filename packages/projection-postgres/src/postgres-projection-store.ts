import {
  type AppliedMigration,
  AzothError,
  type Clock,
  ClosedError,
  type EventId,
  isAzothError,
  type Logger,
  type Migration,
  type MigrationHistory,
  Migrator,
  type ProjectionBackupInfo,
  type ProjectionStore,
  silentLogger,
  systemClock,
} from '@azothdb/core'
import { checkInteger, checkKnownFields } from '@azothdb/core/internal'
import pg from 'pg'
import { backupDatabase } from './backup.js'
import { ConnectionSockets } from './connection-sockets.js'
import { PostgresDeadLetterStore } from './dead-letter-table.js'
import { toPgAzothError } from './pg-errors.js'
import { commitTx, finishTx, type PgParams, PostgresTx, rollbackTx } from './postgres-tx.js'
import { lockProjector, type ProjectorLock, type ProjectorLockOptions } from './projector-lock.js'
import { ensureSystemTables, LOCK_CLASS } from './system-tables.js'
import { timedQuery } from './timed-query.js'
import { WriterLock } from './writer-lock.js'

/** Options of {@link PostgresProjectionStore.open}. */
export interface PostgresProjectionStoreOptions {
  /** `postgres://user:password@host:port/database`; also what `backup` hands to `pg_dump`. */
  readonly connectionString: string
  /** Connections for `query`, cursor and dead-letter reads. Default 4. */
  readonly readers?: number
  /** How long a connection attempt may take before `TIMEOUT`. Default 10,000 ms. */
  readonly connectTimeoutMs?: number
  /**
   * How long one statement may wait for the server's answer before `TIMEOUT` (its connection is
   * then closed, so the server rolls back its transaction), and how long `pg_dump` may go without
   * progress during `backup` and `close()` may wait for the server. Default 30,000 ms.
   */
  readonly queryTimeoutMs?: number
  /** The `pg_dump` executable `backup` runs. Default `'pg_dump'` (on PATH). */
  readonly pgDumpPath?: string
  /** Stamps cursor updates and migration history. Default: the system clock. */
  readonly clock?: Clock
  /** Where failures the store handles itself are logged (default: silent). */
  readonly logger?: Logger
}

const KNOWN_OPTIONS = [
  'connectionString',
  'readers',
  'connectTimeoutMs',
  'queryTimeoutMs',
  'pgDumpPath',
  'clock',
  'logger',
]
// setTimeout's largest delay.
const MAX_TIMEOUT_MS = 2_147_483_647

// The server drops the session of a holder whose machine vanished (no FIN, no RST) after about
// idle + interval * count seconds, which frees its projector lock for a standby.
const KEEPALIVE = '-c tcp_keepalives_idle=5 -c tcp_keepalives_interval=2 -c tcp_keepalives_count=3'
const LOCK_QUERY_TIMEOUT_MS = 10_000

/**
 * Projections in one PostgreSQL database: transactions on a writer connection (one at a time per
 * store, READ COMMITTED), a pool of read-only connections for queries, the system tables
 * `_azoth_cursors`, `_azoth_dead_letters`, `_azoth_migrations` and `_azoth_meta`, and advisory
 * locks that keep one active instance of each projector across processes and machines.
 *
 * @example
 * const store = await PostgresProjectionStore.open({ connectionString: 'postgres://localhost/app' })
 * await store.migrator([{ version: 1, name: 'balances', up: (tx) => tx.exec('CREATE TABLE ...') }]).up()
 * const lock = await store.lockProjector('balances') // waits while another instance runs it
 * await projector.run(lock.signal)
 */
export class PostgresProjectionStore implements ProjectionStore<PostgresTx> {
  readonly backend = 'postgres'
  readonly deadLetters: PostgresDeadLetterStore
  readonly #config: pg.ClientConfig
  readonly #writer: pg.Pool
  readonly #readers: pg.Pool
  readonly #lock = new WriterLock()
  readonly #clock: Clock
  readonly #logger: Logger
  readonly #pgDumpPath: string
  readonly #timeoutMs: number
  readonly #sockets = new ConnectionSockets()
  readonly #projectorLocks = new Set<ProjectorLock>()
  #closed = false
  // Aborted by close(): lock waiters stop waiting.
  readonly #closing = new AbortController()

  private constructor(options: PostgresProjectionStoreOptions) {
    checkKnownFields('PostgresProjectionStore', options, KNOWN_OPTIONS)
    if (typeof options.connectionString !== 'string' || options.connectionString.length === 0) {
      throw new AzothError('CONFIG', 'connectionString must be a non-empty string', {
        details: { field: 'connectionString' },
      })
    }
    const readers = checkInteger('readers', options.readers ?? 4, 1, 64)
    const connectTimeoutMs = checkInteger(
      'connectTimeoutMs',
      options.connectTimeoutMs ?? 10_000,
      1,
      MAX_TIMEOUT_MS,
    )
    this.#timeoutMs = checkInteger('queryTimeoutMs', options.queryTimeoutMs ?? 30_000, 1, MAX_TIMEOUT_MS)
    this.#pgDumpPath = options.pgDumpPath ?? 'pg_dump'
    if (typeof this.#pgDumpPath !== 'string' || this.#pgDumpPath.length === 0) {
      throw new AzothError('CONFIG', 'pgDumpPath must be a non-empty string', {
        details: { field: 'pgDumpPath' },
      })
    }
    this.#clock = options.clock ?? systemClock
    this.#logger = options.logger ?? silentLogger
    this.#config = {
      connectionString: options.connectionString,
      connectionTimeoutMillis: connectTimeoutMs,
      keepAlive: true,
      stream: this.#sockets.stream,
    }
    // Two: one for the transaction of the moment (the store runs one at a time), one so that
    // dead-letter changes made while a transaction is open do not wait for it to end.
    this.#writer = new pg.Pool({ ...this.#config, max: 2 })
    // Read-only sessions: a write in `query` fails in the server instead of committing.
    this.#readers = new pg.Pool({
      ...this.#config,
      max: readers,
      options: '-c default_transaction_read_only=on',
    })
    // An idle pooled connection that breaks (server restart) raises here; the pool drops it and
    // the next use connects again.
    const onIdleError = (e: Error): void => this.#logger.warn({ err: e }, 'idle PostgreSQL connection failed')
    this.#writer.on('error', onIdleError)
    this.#readers.on('error', onIdleError)
    this.deadLetters = new PostgresDeadLetterStore((sql, params) => {
      if (this.#closed) throw new ClosedError('projection store')
      return this.#withClient(this.#writer, (client) => timedQuery(client, this.#timeoutMs, sql, params))
    })
  }

  /**
   * Connects and creates the system tables when missing. Bad options raise `CONFIG`; an
   * unreachable server `IO`.
   */
  static async open(options: PostgresProjectionStoreOptions): Promise<PostgresProjectionStore> {
    const store = new PostgresProjectionStore(options)
    try {
      await store.#withClient(store.#writer, (client) => ensureSystemTables(client, store.#timeoutMs))
    } catch (e) {
      await store.close()
      throw toPgAzothError(e, 'cannot prepare the PostgreSQL projection store')
    }
    return store
  }

  async getCursor(projector: string): Promise<EventId> {
    const rows = await this.query<{ event_id: string }>(
      'SELECT event_id FROM _azoth_cursors WHERE projector = $1',
      [projector],
    )
    return rows[0] === undefined ? 0 : Number(rows[0].event_id)
  }

  async cursors(): Promise<Record<string, EventId>> {
    const out: Record<string, EventId> = {}
    for (const row of await this.query<{ projector: string; event_id: string }>(
      'SELECT projector, event_id FROM _azoth_cursors',
    )) {
      out[row.projector] = Number(row.event_id)
    }
    return out
  }

  /**
   * One `BEGIN` ... `COMMIT` on the writer connection; transactions of this store queue (FIFO).
   * `fn` may be synchronous or async; await every statement it issues. Throwing rolls back. A
   * failed `COMMIT` or a lost connection raises `IO` (PostgreSQL committed nothing then, or, if the
   * connection broke during `COMMIT` itself, possibly everything: a projector's cursor check makes
   * either case safe).
   */
  async transaction<R>(fn: (tx: PostgresTx) => R | Promise<R>): Promise<R> {
    if (this.#closed) throw new ClosedError('projection store')
    await this.#lock.acquire()
    try {
      if (this.#closed) throw new ClosedError('projection store')
      return await this.#withClient(this.#writer, async (client, drop) => {
        // BEGIN goes out with the transaction's first statement.
        const tx = new PostgresTx(client, this.#clock, this.#timeoutMs)
        let result: R
        try {
          result = await fn(tx)
        } catch (e) {
          finishTx(tx)
          await rollbackTx(tx).catch((r: unknown) => {
            // The connection is gone (the server rolled back already) or in an unknown state: it is
            // dropped, never reused; the original error wins.
            drop()
            this.#logger.warn({ err: r }, 'PostgreSQL ROLLBACK failed')
          })
          throw e
        }
        finishTx(tx)
        try {
          await commitTx(tx)
        } catch (e) {
          throw toPgAzothError(e, 'PostgreSQL commit failed')
        }
        return result
      })
    } finally {
      this.#lock.release()
    }
  }

  /**
   * Rows of a read query (`$1` placeholders), on a read-only connection that sees committed data.
   * BIGINT and NUMERIC columns come back as strings (`pg`'s default, exact). Failures:
   * `INVALID_ARGUMENT` for a statement at fault (syntax, parameters, a write), `IO` when the server
   * or the connection failed, `CORRUPTION` for damaged data.
   */
  async query<Row = Record<string, unknown>>(sql: string, params?: PgParams): Promise<Row[]> {
    if (this.#closed) throw new ClosedError('projection store')
    if (typeof sql !== 'string') throw new AzothError('INVALID_ARGUMENT', 'sql must be a string')
    if (params !== undefined && !Array.isArray(params)) {
      throw new AzothError('INVALID_ARGUMENT', 'params must be an array for $1, $2... placeholders')
    }
    try {
      return (
        await this.#withClient(this.#readers, (client) =>
          timedQuery(client, this.#timeoutMs, sql, params as unknown[] | undefined),
        )
      ).rows as Row[]
    } catch (e) {
      throw toPgAzothError(e, 'PostgreSQL query failed', { sql })
    }
  }

  /** Versioned migrations (`up(tx: PostgresTx)` may be async); concurrent migrators take turns. */
  migrator(migrations: readonly Migration<PostgresTx>[]): Migrator<PostgresTx> {
    return new Migrator(this, HISTORY, migrations, this.#clock)
  }

  /**
   * Waits until this process holds the lock of `projector` (see {@link ProjectorLock}): run the
   * projector only while holding it, so one instance applies events and the others stand by.
   */
  async lockProjector(projector: string, options: ProjectorLockOptions = {}): Promise<ProjectorLock> {
    if (this.#closed) throw new ClosedError('projection store')
    if (typeof projector !== 'string' || projector.length === 0) {
      throw new AzothError('INVALID_ARGUMENT', 'projector must be a non-empty string')
    }
    checkKnownFields('lockProjector', options, ['signal', 'checkIntervalMs'])
    checkInteger('checkIntervalMs', options.checkIntervalMs ?? 1_000, 1)
    // The holder's side of a partition: a heartbeat that gets no answer within LOCK_QUERY_TIMEOUT_MS
    // fails, and the lock's signal aborts, about when the server has dropped the session.
    const config: pg.ClientConfig = {
      ...this.#config,
      options: KEEPALIVE,
      keepAliveInitialDelayMillis: 5_000,
      query_timeout: Math.min(LOCK_QUERY_TIMEOUT_MS, this.#timeoutMs),
    }
    const signal =
      options.signal === undefined
        ? this.#closing.signal
        : AbortSignal.any([options.signal, this.#closing.signal])
    const lock = await lockProjector(config, projector, { ...options, signal }, this.#clock, this.#logger)
    if (this.#closed) {
      await lock.release()
      throw new ClosedError('projection store')
    }
    this.#projectorLocks.add(lock)
    lock.signal.addEventListener('abort', () => this.#projectorLocks.delete(lock), { once: true })
    return lock
  }

  /**
   * A consistent copy into the file `target` (`pg_dump` custom format, restore with `pg_restore`):
   * the cursors reported and the dump come from one exported snapshot, while writers go on.
   */
  async backup(target: string): Promise<ProjectionBackupInfo> {
    if (this.#closed) throw new ClosedError('projection store')
    return backupDatabase(
      this.#readers,
      this.#config.connectionString!,
      this.#pgDumpPath,
      target,
      this.#timeoutMs,
    )
  }

  /**
   * Waits for the running transaction (its statements are bounded by `queryTimeoutMs`), releases
   * projector locks and closes every connection. A server that no longer answers gets
   * `queryTimeoutMs` to say goodbye; then the sockets are destroyed, so `close()` always finishes.
   */
  async close(): Promise<void> {
    if (this.#closed) return
    this.#closed = true
    this.#closing.abort(new ClosedError('projection store'))
    await this.#lock.acquire()
    const deadline = setTimeout(() => {
      this.#logger.warn(
        { timeoutMs: this.#timeoutMs },
        'PostgreSQL did not close the connections; dropping them',
      )
      this.#sockets.destroyAll()
    }, this.#timeoutMs)
    try {
      await Promise.all([...this.#projectorLocks].map((l) => l.release()))
      await Promise.all([this.#writer.end(), this.#readers.end()])
      // pg's pools resolve `end()` before the server has closed the sockets.
      await this.#sockets.allClosed()
    } finally {
      clearTimeout(deadline)
      this.#lock.release()
    }
  }

  /** Runs `fn` on a connection of `pool`; `drop()` marks the connection for closing instead of reuse. */
  async #withClient<R>(
    pool: pg.Pool,
    fn: (client: pg.PoolClient, drop: () => void) => Promise<R>,
  ): Promise<R> {
    let client: pg.PoolClient
    try {
      client = await pool.connect()
    } catch (e) {
      throw toPgAzothError(e, 'cannot connect to PostgreSQL')
    }
    let broken: unknown
    const onError = (e: unknown): void => {
      broken = e
    }
    client.on('error', onError)
    try {
      return await fn(client, () => {
        broken ??= true
      })
    } catch (e) {
      // A connection that failed, timed out (destroyed) or whose transaction state is unknown is
      // dropped, not reused.
      broken ??= isAzothError(e, 'IO', 'TIMEOUT') ? e : undefined
      throw e
    } finally {
      client.off('error', onError)
      if (broken === undefined && (client as pg.Client).connection.stream.destroyed) broken = true
      client.release(broken instanceof Error ? broken : broken === undefined ? undefined : true)
    }
  }
}

const HISTORY: MigrationHistory<PostgresTx> = {
  async read(tx) {
    await tx.run('SELECT pg_advisory_xact_lock($1, 0)', [LOCK_CLASS.schema])
    const rows = await tx.all<{ version: number; name: string; applied_at: string }>(
      'SELECT version, name, applied_at FROM _azoth_migrations ORDER BY version',
    )
    return rows.map(
      (r): AppliedMigration => ({ version: r.version, name: r.name, appliedAt: Number(r.applied_at) }),
    )
  },
  async record(tx, row) {
    await tx.run('INSERT INTO _azoth_migrations (version, name, applied_at) VALUES ($1, $2, $3)', [
      row.version,
      row.name,
      row.appliedAt,
    ])
  },
  async forget(tx, version) {
    await tx.run('DELETE FROM _azoth_migrations WHERE version = $1', [version])
  },
}
