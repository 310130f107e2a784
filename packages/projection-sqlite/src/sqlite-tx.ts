import type { Clock, EventId, NewDeadLetter, ProjectionTxControl } from '@azothdb/core'
import { AzothError } from '@azothdb/core'
import type Database from 'better-sqlite3'
import type { StatementCache } from './statement-cache.js'

/** Bind parameters: positional (`?`) as an array, named (`@name`, `:name`, `$name`) as an object. */
export type SqlParams = readonly unknown[] | Readonly<Record<string, unknown>>

// better-sqlite3 binds separate arguments ~100 ns faster than one array (it reads an array element
// by element through V8's API). Only lists of plain values are spread: as separate arguments, an
// array would be flattened and an object taken for named parameters, where in one array both are
// refused. Long lists stay one argument, clear of engine argument limits.
const SPREAD_LIMIT = 16

function isShortList(params: SqlParams): params is readonly unknown[] {
  if (!Array.isArray(params) || params.length > SPREAD_LIMIT) return false
  for (let i = 0; i < params.length; i++) {
    const v: unknown = params[i]
    if (typeof v === 'object' && v !== null && !ArrayBuffer.isView(v)) return false
  }
  return true
}

/** A row as better-sqlite3 returns it. */
export type SqlRow = Record<string, unknown>

// Declared here rather than taken from @types/better-sqlite3, a devDependency: a user's compiler
// (skipLibCheck or not) sees these types whether or not that package is installed.

/** What a statement that returns no rows reports. */
export interface SqlRunResult {
  /** Rows inserted, updated or deleted. */
  readonly changes: number
  /** The rowid of the last inserted row. */
  readonly lastInsertRowid: number | bigint
}

/** A prepared statement (better-sqlite3's), with the methods a handler binds in a loop. */
export interface SqlStatement {
  /** Runs it with these bind parameters; for statements that return no rows. */
  run(...params: unknown[]): SqlRunResult
  /** The first row, or undefined. */
  get(...params: unknown[]): unknown
  /** Every row. */
  all(...params: unknown[]): unknown[]
  /** The rows one at a time (the statement is busy until the iteration ends). */
  iterate(...params: unknown[]): IterableIterator<unknown>
}

/**
 * The write transaction handlers and migrations see. Statements are prepared once per SQL text and
 * cached; everything written commits together with the projector's cursor, or not at all.
 * Valid only inside the `transaction` callback that received it: once that transaction has ended, every
 * call raises `CLOSED` (a late write of an abandoned handler never lands in a later transaction).
 */
export class SqliteTx implements ProjectionTxControl {
  /** @internal set by the store around each transaction. */
  active = false
  private depth = 0

  /** @internal */
  constructor(
    private readonly db: Database.Database,
    private readonly statements: StatementCache,
    private readonly clock: Clock,
  ) {}

  /** Runs a statement that returns no rows (INSERT, UPDATE, DELETE, DDL); returns changes and rowid. */
  run(sql: string, params?: SqlParams): SqlRunResult {
    const stmt = this.statement(sql)
    if (params === undefined) return stmt.run()
    if (!isShortList(params)) return stmt.run(params)
    // Direct calls for the usual few parameters: a spread call costs more than the rest of this.
    switch (params.length) {
      case 1:
        return stmt.run(params[0])
      case 2:
        return stmt.run(params[0], params[1])
      case 3:
        return stmt.run(params[0], params[1], params[2])
      case 4:
        return stmt.run(params[0], params[1], params[2], params[3])
      default:
        return stmt.run(...params)
    }
  }

  /** The first row of a query, or undefined. */
  get<Row = SqlRow>(sql: string, params?: SqlParams): Row | undefined {
    const stmt = this.statement(sql)
    if (params === undefined) return stmt.get() as Row | undefined
    return (isShortList(params) ? stmt.get(...params) : stmt.get(params)) as Row | undefined
  }

  /** Every row of a query. */
  all<Row = SqlRow>(sql: string, params?: SqlParams): Row[] {
    const stmt = this.statement(sql)
    if (params === undefined) return stmt.all() as Row[]
    return (isShortList(params) ? stmt.all(...params) : stmt.all(params)) as Row[]
  }

  /** Runs one or more statements without parameters (DDL scripts); not cached. */
  exec(sql: string): void {
    this.check()
    this.db.exec(sql)
  }

  /** The cached prepared statement for `sql`, for callers that bind in a loop themselves. */
  prepare(sql: string): SqlStatement {
    return this.statement(sql)
  }

  private statement(sql: string): Database.Statement<unknown[]> {
    this.check()
    return this.statements.get(sql)
  }

  /**
   * Runs `fn` inside `SAVEPOINT`: its writes are rolled back alone when it throws (or its promise
   * rejects). Savepoints nest; do not run two of them concurrently from async code.
   */
  savepoint<R>(fn: () => R): R {
    this.check()
    const name = `azoth_sp_${++this.depth}`
    this.statements.get(`SAVEPOINT ${name}`).run()
    let result: R
    try {
      result = fn()
    } catch (e) {
      this.rollbackTo(name)
      throw e
    }
    if (isThenable(result)) {
      return Promise.resolve(result).then(
        (value) => {
          this.release(name)
          return value
        },
        (e: unknown) => {
          this.rollbackTo(name)
          throw e
        },
      ) as R
    }
    this.release(name)
    return result
  }

  getCursor(projector: string): EventId {
    this.check()
    const row = this.statements
      .get('SELECT event_id FROM _azoth_cursors WHERE projector = ?')
      .get(projector) as { event_id: number } | undefined
    return row?.event_id ?? 0
  }

  setCursor(projector: string, id: EventId): void {
    this.check()
    this.statements
      .get(
        'INSERT INTO _azoth_cursors (projector, event_id, updated_at) VALUES (?, ?, ?) ' +
          'ON CONFLICT (projector) DO UPDATE SET event_id = excluded.event_id, updated_at = excluded.updated_at',
      )
      .run(projector, id, this.clock.now())
  }

  addDeadLetter(entry: NewDeadLetter): void {
    this.check()
    // A second failure of the same event (a rebuild replays it) updates the row in place.
    this.statements
      .get(
        `INSERT INTO _azoth_dead_letters (projector, event_id, event_type, envelope, error_message,
           error_stack, attempts, first_failed_at, last_failed_at, next_retry_at, status)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'pending')
         ON CONFLICT (projector, event_id) DO UPDATE SET
           envelope = excluded.envelope, error_message = excluded.error_message,
           error_stack = excluded.error_stack, attempts = attempts + excluded.attempts,
           last_failed_at = excluded.last_failed_at, next_retry_at = excluded.next_retry_at,
           status = 'pending'`,
      )
      .run(
        entry.projector,
        entry.eventId,
        entry.eventType,
        entry.envelope,
        entry.error.message,
        entry.error.stack ?? null,
        entry.attempts,
        entry.failedAt,
        entry.failedAt,
        entry.nextRetryAt ?? null,
      )
  }

  removeDeadLetter(id: number): boolean {
    this.check()
    return this.statements.get('DELETE FROM _azoth_dead_letters WHERE id = ?').run(id).changes > 0
  }

  clearDeadLetters(projector: string): number {
    this.check()
    return this.statements.get('DELETE FROM _azoth_dead_letters WHERE projector = ?').run(projector).changes
  }

  private rollbackTo(name: string): void {
    // A savepoint whose work settled after its transaction ended (an abandoned handler) must not
    // touch the connection: it may be inside the next transaction by now.
    this.check()
    this.depth--
    // Some SQLite errors (SQLITE_FULL, SQLITE_IOERR...) roll the whole transaction back; the
    // savepoint is gone then, and the caller must learn that nothing of the batch survives.
    if (!this.db.inTransaction) {
      throw new AzothError('PROJECTION_FAILED', 'SQLite rolled back the whole transaction after an error')
    }
    this.statements.get(`ROLLBACK TO ${name}`).run()
    this.statements.get(`RELEASE ${name}`).run()
  }

  private release(name: string): void {
    this.check()
    this.depth--
    this.statements.get(`RELEASE ${name}`).run()
  }

  private check(): void {
    if (!this.active) {
      throw new AzothError(
        'CLOSED',
        'this SqliteTx belongs to a transaction that has ended: it is usable only inside its callback',
      )
    }
  }

  /** @internal resets the savepoint depth after a transaction ends, whatever happened. */
  finish(): void {
    this.active = false
    this.depth = 0
  }
}

/** True for promises and promise-like values. */
export function isThenable(value: unknown): value is PromiseLike<unknown> {
  return (
    value !== null &&
    (typeof value === 'object' || typeof value === 'function') &&
    typeof (value as { then?: unknown }).then === 'function'
  )
}
