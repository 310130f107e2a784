import {
  AzothError,
  type DeadLetter,
  type DeadLetterQuery,
  type DeadLetterStatus,
  type DeadLetterStore,
} from '@azothdb/core'
import type { StatementCache } from './statement-cache.js'

/**
 * @internal Runs `fn` with the writer's statements once no transaction is using the connection;
 * `writes` when `fn` may change the file.
 */
export type WithWriter = <R>(fn: (statements: StatementCache) => R, writes?: boolean) => Promise<R>

interface DeadLetterRow {
  id: number
  projector: string
  event_id: number
  event_type: string
  envelope: Uint8Array
  error_message: string
  error_stack: string | null
  attempts: number
  first_failed_at: number
  last_failed_at: number
  next_retry_at: number | null
  status: DeadLetterStatus
}

function toDeadLetter(row: DeadLetterRow): DeadLetter {
  return {
    id: row.id,
    projector: row.projector,
    eventId: row.event_id,
    eventType: row.event_type,
    envelope: new Uint8Array(row.envelope),
    errorMessage: row.error_message,
    errorStack: row.error_stack ?? undefined,
    attempts: row.attempts,
    firstFailedAt: row.first_failed_at,
    lastFailedAt: row.last_failed_at,
    nextRetryAt: row.next_retry_at ?? undefined,
    status: row.status,
  }
}

// Filters are optional: `(? IS NULL OR col = ?)` keeps one prepared statement for every combination.
const WHERE = `WHERE (@projector IS NULL OR projector = @projector)
  AND (@status IS NULL OR status = @status)
  AND (@dueBy IS NULL OR (next_retry_at IS NOT NULL AND next_retry_at <= @dueBy))`

function bind(query: DeadLetterQuery | undefined): Record<string, unknown> {
  return {
    projector: query?.projector ?? null,
    status: query?.status ?? null,
    dueBy: query?.dueBy ?? null,
  }
}

/** The `_azoth_dead_letters` table behind the core {@link DeadLetterStore} interface. */
export class SqliteDeadLetterStore implements DeadLetterStore {
  /** @internal */
  constructor(
    private readonly withWriter: WithWriter,
    private readonly readOnly = false,
  ) {}

  /** Changes go through here: a read-only store refuses them with `READ_ONLY`. */
  private mutate<R>(fn: (statements: StatementCache) => R): Promise<R> {
    if (this.readOnly)
      return Promise.reject(new AzothError('READ_ONLY', 'the projection store is open read-only'))
    return this.withWriter(fn, true)
  }

  list(query?: DeadLetterQuery): Promise<DeadLetter[]> {
    return this.withWriter((s) =>
      (
        s
          .get(`SELECT * FROM _azoth_dead_letters ${WHERE} ORDER BY id LIMIT @limit`)
          .all({ ...bind(query), limit: query?.limit ?? -1 }) as DeadLetterRow[]
      ).map(toDeadLetter),
    )
  }

  get(id: number): Promise<DeadLetter | undefined> {
    return this.withWriter((s) => {
      const row = s.get('SELECT * FROM _azoth_dead_letters WHERE id = ?').get(id) as DeadLetterRow | undefined
      return row === undefined ? undefined : toDeadLetter(row)
    })
  }

  count(query?: Omit<DeadLetterQuery, 'limit'>): Promise<number> {
    return this.withWriter(
      (s) =>
        (s.get(`SELECT count(*) AS n FROM _azoth_dead_letters ${WHERE}`).get(bind(query)) as { n: number }).n,
    )
  }

  remove(id: number): Promise<boolean> {
    return this.mutate((s) => s.get('DELETE FROM _azoth_dead_letters WHERE id = ?').run(id).changes > 0)
  }

  markRetry(id: number, at: number): Promise<boolean> {
    return this.mutate(
      (s) =>
        s.get("UPDATE _azoth_dead_letters SET status = 'pending', next_retry_at = ? WHERE id = ?").run(at, id)
          .changes > 0,
    )
  }

  recordAttempt(
    id: number,
    error: Error,
    at: number,
    next: { readonly nextRetryAt: number } | 'permanent',
  ): Promise<void> {
    return this.mutate((s) => {
      s.get(
        `UPDATE _azoth_dead_letters SET attempts = attempts + 1, last_failed_at = ?, error_message = ?,
           error_stack = ?, next_retry_at = ?, status = ? WHERE id = ?`,
      ).run(
        at,
        error.message,
        error.stack ?? null,
        next === 'permanent' ? null : next.nextRetryAt,
        next === 'permanent' ? 'permanent' : 'retrying',
        id,
      )
    })
  }
}
