import {
  AzothError,
  type Clock,
  type EventId,
  type NewDeadLetter,
  type ProjectionTxControl,
} from '@azothdb/core'
import type pg from 'pg'
import { toPgAzothError } from './pg-errors.js'
import { LOCK_CLASS } from './system-tables.js'

/** Bind parameters for `$1, $2...` placeholders. */
export type PgParams = readonly unknown[]

/** A row as `pg` returns it (BIGINT and NUMERIC columns come back as strings). */
export type PgRow = Record<string, unknown>

const SET_CURSOR =
  'INSERT INTO _azoth_cursors (projector, event_id, updated_at) VALUES ($1, $2, $3) ' +
  'ON CONFLICT (projector) DO UPDATE SET event_id = excluded.event_id, updated_at = excluded.updated_at'

// A second failure of the same event (a rebuild replays it) updates the row in place.
const ADD_DEAD_LETTER = `INSERT INTO _azoth_dead_letters (projector, event_id, event_type, envelope,
    error_message, error_stack, attempts, first_failed_at, last_failed_at, next_retry_at, status)
  VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $8, $9, 'pending')
  ON CONFLICT (projector, event_id) DO UPDATE SET
    envelope = excluded.envelope, error_message = excluded.error_message,
    error_stack = excluded.error_stack, attempts = _azoth_dead_letters.attempts + excluded.attempts,
    last_failed_at = excluded.last_failed_at, next_retry_at = excluded.next_retry_at, status = 'pending'`

/** Ends a transaction's use of its `PostgresTx`; the store calls it when the transaction ends (set by the class, which alone reaches `#active`). */
export let finishTx: (tx: PostgresTx) => void

/**
 * The write transaction handlers and migrations see: one PostgreSQL transaction on one connection,
 * committed together with the projector's cursor, or not at all. Every method returns a promise;
 * await each before the next (a connection runs one statement at a time, in order). Valid only
 * inside the `transaction` callback that received it. Failures are Azoth errors with `pg`'s error as
 * `cause`: `IO` when the connection or the server failed, `INVALID_ARGUMENT` for a statement at
 * fault (syntax, constraint, types), `CORRUPTION` for damaged data.
 */
export class PostgresTx implements ProjectionTxControl {
  readonly #client: pg.ClientBase
  readonly #clock: Clock
  #active = true
  #depth = 0

  /** Made by the store for each transaction; not for direct use. */
  constructor(client: pg.ClientBase, clock: Clock) {
    this.#client = client
    this.#clock = clock
  }

  /** Every row of a statement (SELECT, or a write with RETURNING). */
  async all<Row = PgRow>(sql: string, params?: PgParams): Promise<Row[]> {
    return (await this.#query(sql, params)).rows as Row[]
  }

  /** The first row of a statement, or undefined. */
  async get<Row = PgRow>(sql: string, params?: PgParams): Promise<Row | undefined> {
    return (await this.#query(sql, params)).rows[0] as Row | undefined
  }

  /** Runs a statement (INSERT, UPDATE, DELETE, DDL); returns the number of rows it touched. */
  async run(sql: string, params?: PgParams): Promise<number> {
    return (await this.#query(sql, params)).rowCount ?? 0
  }

  /** Runs a script of several statements without parameters (DDL in migrations). */
  async exec(sql: string): Promise<void> {
    await this.#query(sql, undefined)
  }

  /**
   * Runs `fn` inside `SAVEPOINT`: when it throws (or its promise rejects) only its writes are rolled
   * back and the error is rethrown. Always returns a promise of `fn`'s result: await it.
   */
  savepoint<R>(fn: () => R): R {
    return this.#savepoint(fn) as R
  }

  async #savepoint<R>(fn: () => R): Promise<Awaited<R>> {
    const name = `azoth_sp_${++this.#depth}`
    await this.#query(`SAVEPOINT ${name}`, undefined)
    let result: Awaited<R>
    try {
      result = await fn()
    } catch (e) {
      this.#depth--
      // If the connection died, ROLLBACK TO fails too: that IO error wins, so the caller learns the
      // whole transaction is gone and does not blame the event.
      await this.#query(`ROLLBACK TO SAVEPOINT ${name}`, undefined)
      await this.#query(`RELEASE SAVEPOINT ${name}`, undefined)
      throw e
    }
    this.#depth--
    await this.#query(`RELEASE SAVEPOINT ${name}`, undefined)
    return result
  }

  /**
   * The projector's cursor, read under a transaction-scoped advisory lock on the projector: a second
   * instance applying the same projector waits here until this transaction ends, then reads the
   * cursor it committed (each statement of READ COMMITTED sees the latest commits), so it never
   * applies the same events again.
   */
  async getCursor(projector: string): Promise<EventId> {
    await this.#query('SELECT pg_advisory_xact_lock($1, hashtext($2))', [LOCK_CLASS.cursor, projector])
    const row = await this.get<{ event_id: string }>(
      'SELECT event_id FROM _azoth_cursors WHERE projector = $1',
      [projector],
    )
    return row === undefined ? 0 : Number(row.event_id)
  }

  async setCursor(projector: string, id: EventId): Promise<void> {
    await this.#query(SET_CURSOR, [projector, id, this.#clock.now()])
  }

  async addDeadLetter(entry: NewDeadLetter): Promise<void> {
    await this.#query(ADD_DEAD_LETTER, [
      entry.projector,
      entry.eventId,
      entry.eventType,
      entry.envelope,
      entry.error.message,
      entry.error.stack ?? null,
      entry.attempts,
      entry.failedAt,
      entry.nextRetryAt ?? null,
    ])
  }

  async removeDeadLetter(id: number): Promise<boolean> {
    return (await this.run('DELETE FROM _azoth_dead_letters WHERE id = $1', [id])) > 0
  }

  async clearDeadLetters(projector: string): Promise<number> {
    return this.run('DELETE FROM _azoth_dead_letters WHERE projector = $1', [projector])
  }

  async #query(sql: string, params: PgParams | undefined): Promise<pg.QueryResult> {
    if (!this.#active) {
      throw new AzothError('INVALID_ARGUMENT', 'a PostgresTx is usable only inside its transaction callback')
    }
    if (typeof sql !== 'string') {
      throw new AzothError('INVALID_ARGUMENT', 'sql must be a string', { details: { sql: String(sql) } })
    }
    try {
      return await this.#client.query(sql, params as unknown[] | undefined)
    } catch (e) {
      throw toPgAzothError(e, 'PostgreSQL statement failed', { sql })
    }
  }

  static {
    finishTx = (tx) => {
      tx.#active = false
    }
  }
}
