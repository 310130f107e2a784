import {
  AzothError,
  type DeadLetter,
  type DeadLetterQuery,
  type DeadLetterStatus,
  type DeadLetterStore,
} from '@azothdb/core'
import type pg from 'pg'
import { toPgAzothError } from './pg-errors.js'

interface DeadLetterRow {
  id: string
  projector: string
  event_id: string
  event_type: string
  envelope: Buffer
  error_message: string
  error_stack: string | null
  attempts: number
  first_failed_at: string
  last_failed_at: string
  next_retry_at: string | null
  status: DeadLetterStatus
}

function toDeadLetter(row: DeadLetterRow): DeadLetter {
  return {
    id: Number(row.id),
    projector: row.projector,
    eventId: Number(row.event_id),
    eventType: row.event_type,
    envelope: new Uint8Array(row.envelope),
    errorMessage: row.error_message,
    errorStack: row.error_stack ?? undefined,
    attempts: row.attempts,
    firstFailedAt: Number(row.first_failed_at),
    lastFailedAt: Number(row.last_failed_at),
    nextRetryAt: row.next_retry_at === null ? undefined : Number(row.next_retry_at),
    status: row.status,
  }
}

// Filters are optional: `($1::text IS NULL OR col = $1)` keeps one statement for every combination.
const WHERE = `WHERE ($1::text IS NULL OR projector = $1)
  AND ($2::text IS NULL OR status = $2)
  AND ($3::bigint IS NULL OR (next_retry_at IS NOT NULL AND next_retry_at <= $3))`

function bind(query: DeadLetterQuery | undefined): unknown[] {
  return [query?.projector ?? null, query?.status ?? null, query?.dueBy ?? null]
}

/** The `_azoth_dead_letters` table behind the core {@link DeadLetterStore} interface. */
export class PostgresDeadLetterStore implements DeadLetterStore {
  readonly #run: (sql: string, params: unknown[]) => Promise<pg.QueryResult>

  /** Made by the store; `run` executes one statement on its writer pool. */
  constructor(run: (sql: string, params: unknown[]) => Promise<pg.QueryResult>) {
    this.#run = async (sql, params) => {
      try {
        return await run(sql, params)
      } catch (e) {
        throw toPgAzothError(e, 'dead-letter statement failed')
      }
    }
  }

  async list(query?: DeadLetterQuery): Promise<DeadLetter[]> {
    const limit = query?.limit
    if (limit !== undefined && (!Number.isSafeInteger(limit) || limit < 0)) {
      throw new AzothError('INVALID_ARGUMENT', 'limit must be a non-negative integer', { details: { limit } })
    }
    const r = await this.#run(`SELECT * FROM _azoth_dead_letters ${WHERE} ORDER BY id LIMIT $4`, [
      ...bind(query),
      limit ?? null,
    ])
    return (r.rows as DeadLetterRow[]).map(toDeadLetter)
  }

  async get(id: number): Promise<DeadLetter | undefined> {
    const r = await this.#run('SELECT * FROM _azoth_dead_letters WHERE id = $1', [id])
    const row = r.rows[0] as DeadLetterRow | undefined
    return row === undefined ? undefined : toDeadLetter(row)
  }

  async count(query?: Omit<DeadLetterQuery, 'limit'>): Promise<number> {
    const r = await this.#run(`SELECT count(*) AS n FROM _azoth_dead_letters ${WHERE}`, bind(query))
    return Number((r.rows[0] as { n: string }).n)
  }

  async remove(id: number): Promise<boolean> {
    return ((await this.#run('DELETE FROM _azoth_dead_letters WHERE id = $1', [id])).rowCount ?? 0) > 0
  }

  async markRetry(id: number, at: number): Promise<boolean> {
    const r = await this.#run(
      "UPDATE _azoth_dead_letters SET status = 'pending', next_retry_at = $1 WHERE id = $2",
      [at, id],
    )
    return (r.rowCount ?? 0) > 0
  }

  async recordAttempt(
    id: number,
    error: Error,
    at: number,
    next: { readonly nextRetryAt: number } | 'permanent',
  ): Promise<void> {
    await this.#run(
      `UPDATE _azoth_dead_letters SET attempts = attempts + 1, last_failed_at = $1, error_message = $2,
         error_stack = $3, next_retry_at = $4, status = $5 WHERE id = $6`,
      [
        at,
        error.message,
        error.stack ?? null,
        next === 'permanent' ? null : next.nextRetryAt,
        next === 'permanent' ? 'permanent' : 'retrying',
        id,
      ],
    )
  }
}
