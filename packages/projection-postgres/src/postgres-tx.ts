import {
  AzothError,
  type Clock,
  type EventId,
  isAzothError,
  type NewDeadLetter,
  type ProjectionTxControl,
} from '@azothdb/core'
import pg from 'pg'
import { toPgAzothError } from './pg-errors.js'
import { LOCK_CLASS } from './system-tables.js'
import { lastResult, timedQuery } from './timed-query.js'

/** Bind parameters for `$1, $2...` placeholders. */
export type PgParams = readonly unknown[]

/** A row as `pg` returns it (BIGINT and NUMERIC columns come back as strings). */
export type PgRow = Record<string, unknown>

const SET_CURSOR =
  'INSERT INTO _azoth_cursors (projector, event_id, updated_at) VALUES ($1, $2, $3) ' +
  'ON CONFLICT (projector) DO UPDATE SET event_id = excluded.event_id, updated_at = excluded.updated_at'
const SET_CURSOR_ON_CONFLICT =
  'ON CONFLICT (projector) DO UPDATE SET event_id = excluded.event_id, updated_at = excluded.updated_at;'

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
/** Commits what the transaction did (nothing to send when it issued nothing). */
export let commitTx: (tx: PostgresTx) => Promise<void>
/** Rolls the transaction back (nothing to send when it issued nothing). */
export let rollbackTx: (tx: PostgresTx) => Promise<void>

/**
 * The write transaction handlers and migrations see: one PostgreSQL transaction on one connection,
 * committed together with the projector's cursor, or not at all. Every method returns a promise;
 * await each before the next (a connection runs one statement at a time, in order). Valid only
 * inside the `transaction` callback that received it. Failures are Azoth errors with `pg`'s error as
 * `cause`: `IO` when the connection or the server failed, `TIMEOUT` when the server did not answer
 * within `queryTimeoutMs` (the connection is then closed and the transaction lost: later statements
 * raise `IO`), `INVALID_ARGUMENT` for a statement at fault (syntax, constraint, types),
 * `CORRUPTION` for damaged data.
 */
export class PostgresTx implements ProjectionTxControl {
  readonly #client: pg.ClientBase
  readonly #clock: Clock
  readonly #timeoutMs: number
  #active = true
  #depth = 0
  // Statements whose results nobody reads (BEGIN, SAVEPOINT, RELEASE, the cursor upsert) wait here
  // and go out in front of the next statement, in one simple-protocol round trip: a batch of the
  // projector then costs about the round trips of a hand-written loop. Order is kept (they always
  // go before anything else); a deferred statement's failure surfaces with the statement it went
  // out with, which fails the transaction just the same.
  #pending = 'BEGIN;'
  // Round trips sent: a savepoint whose callback sent none needs no ROLLBACK TO on the wire.
  #sent = 0
  // Set when a statement timed out: its connection was destroyed, the server rolls back.
  #lost: AzothError | undefined

  /** Made by the store for each transaction; not for direct use. */
  constructor(client: pg.ClientBase, clock: Clock, timeoutMs: number) {
    this.#client = client
    this.#clock = clock
    this.#timeoutMs = timeoutMs
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
    this.#checkActive()
    const name = `azoth_sp_${++this.#depth}`
    const before = this.#pending
    const sent = this.#sent
    this.#pending += `SAVEPOINT ${name};`
    let result: Awaited<R>
    try {
      result = await fn()
    } catch (e) {
      this.#depth--
      // The connection is gone: nothing to roll back to, and the timeout is what the caller must see.
      if (this.#lost !== undefined) throw e
      if (this.#sent === sent) {
        // Nothing of `fn` reached the server: forgetting its deferred statements rolls it back.
        this.#pending = before
      } else {
        // What `fn` deferred after its last round trip is rolled back with it. If the connection
        // died, ROLLBACK TO fails too: that error wins, so the caller learns the whole transaction
        // is gone and does not blame the event.
        this.#pending = ''
        await this.#query(`ROLLBACK TO SAVEPOINT ${name};RELEASE SAVEPOINT ${name}`, undefined, true)
      }
      throw e
    }
    this.#depth--
    this.#pending += `RELEASE SAVEPOINT ${name};`
    return result
  }

  /**
   * The projector's cursor, read under a transaction-scoped advisory lock on the projector: a second
   * instance applying the same projector waits here until this transaction ends, then reads the
   * cursor it committed (each statement of READ COMMITTED sees the latest commits), so it never
   * applies the same events again.
   */
  async getCursor(projector: string): Promise<EventId> {
    if (typeof projector !== 'string') throw new AzothError('INVALID_ARGUMENT', 'projector must be a string')
    // One round trip (with the deferred BEGIN): a simple-protocol script takes a new snapshot for
    // each statement, so the SELECT sees what was committed before the lock was granted.
    const name = pg.escapeLiteral(projector)
    const result = await this.#query(
      `SELECT pg_advisory_xact_lock(${LOCK_CLASS.cursor}, hashtext(${name}));` +
        `SELECT event_id FROM _azoth_cursors WHERE projector = ${name}`,
      undefined,
      true,
    )
    const row = result.rows[0] as { event_id: string } | undefined
    return row === undefined ? 0 : Number(row.event_id)
  }

  async setCursor(projector: string, id: EventId): Promise<void> {
    const now = this.#clock.now()
    if (typeof projector !== 'string' || !Number.isSafeInteger(id) || id < 0 || !Number.isSafeInteger(now)) {
      // Not renderable as literals: sent now, with parameters, so the server says what is wrong.
      await this.#query(SET_CURSOR, [projector, id, now])
      return
    }
    this.#checkActive()
    // Nothing reads its result: it goes out with the next statement, usually COMMIT.
    this.#pending +=
      'INSERT INTO _azoth_cursors (projector, event_id, updated_at) ' +
      `VALUES (${pg.escapeLiteral(projector)}, ${id}, ${now}) ${SET_CURSOR_ON_CONFLICT}`
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

  #checkActive(): void {
    if (!this.#active) {
      throw new AzothError('INVALID_ARGUMENT', 'a PostgresTx is usable only inside its transaction callback')
    }
  }

  async #query(sql: string, params: PgParams | undefined, script = false): Promise<pg.QueryResult> {
    this.#checkActive()
    if (typeof sql !== 'string') {
      throw new AzothError('INVALID_ARGUMENT', 'sql must be a string', { details: { sql: String(sql) } })
    }
    if (params !== undefined && !Array.isArray(params)) {
      throw new AzothError('INVALID_ARGUMENT', 'params must be an array for $1, $2... placeholders')
    }
    return this.#send(sql, params, script)
  }

  /**
   * Sends `sql` with the deferred statements in front. Only our own statements (`script`) join them
   * in one round trip: PostgreSQL parses a whole script before running any of it, so a user's
   * syntax error would silently drop a deferred SAVEPOINT or BEGIN with it.
   */
  async #send(sql: string, params: PgParams | undefined, script = false): Promise<pg.QueryResult> {
    if (this.#lost !== undefined) {
      throw new AzothError(
        'IO',
        'the transaction was lost: a statement timed out and its connection closed',
        {
          cause: this.#lost,
        },
      )
    }
    let text = sql
    const pending = this.#pending
    this.#pending = ''
    try {
      if (pending !== '') {
        if (script) text = pending + sql
        else {
          this.#sent++
          await timedQuery(this.#client, this.#timeoutMs, pending)
        }
      }
      this.#sent++
      return lastResult(await timedQuery(this.#client, this.#timeoutMs, text, params))
    } catch (e) {
      if (isAzothError(e, 'TIMEOUT')) this.#lost = e
      throw toPgAzothError(e, 'PostgreSQL statement failed', { sql })
    }
  }

  static {
    finishTx = (tx) => {
      tx.#active = false
    }
    commitTx = async (tx) => {
      if (tx.#sent === 0 && tx.#pending === 'BEGIN;') return
      const result = await tx.#send('COMMIT', undefined, true)
      // PostgreSQL answers COMMIT of a transaction that an earlier failed statement aborted (its
      // error caught and ignored by the callback) with ROLLBACK, not with an error.
      if (result.command === 'ROLLBACK') {
        throw new AzothError(
          'INVALID_ARGUMENT',
          'PostgreSQL rolled the transaction back: a statement in it failed and its error was ignored',
        )
      }
    }
    rollbackTx = async (tx) => {
      if (tx.#sent === 0 || tx.#lost !== undefined) return
      tx.#pending = ''
      await tx.#send('ROLLBACK', undefined, true)
    }
  }
}
