import type { DeadLetter } from '@azothdb/core'
import { checkArgument, rules } from '@azothdb/core/internal'
import type { DeadLetterRetryResult } from '@azothdb/projector'
import type { SqlProjection } from './sql-projection.js'

/**
 * Every projector's dead letters in this database: `db.deadLetters`.
 *
 * @example
 * for (const row of await db.deadLetters.list(100)) console.log(row.eventId, row.errorMessage)
 * await db.deadLetters.retry(row.id) // after fixing the handler
 */
export class DeadLetters {
  readonly #projection: SqlProjection
  readonly #now: () => number

  /** @internal the database makes the one instance: `db.deadLetters`. */
  constructor(projection: SqlProjection, now: () => number) {
    this.#projection = projection
    this.#now = now
  }

  /** Up to `limit` rows (default 100), oldest first; or filter with a query. */
  async list(
    limit: number | { projector?: string; status?: DeadLetter['status']; limit?: number } = 100,
  ): Promise<DeadLetter[]> {
    const query =
      typeof limit === 'number' ? { limit: checkArgument('limit', limit, rules.positiveInteger) } : limit
    checkArgument('query', query, rules.object)
    return this.#projection.store.deadLetters.list(query)
  }

  /** One row by id. */
  async get(id: number): Promise<DeadLetter | undefined> {
    checkArgument('id', id, rules.positiveInteger)
    return this.#projection.store.deadLetters.get(id)
  }

  /** How many rows, optionally of one projector or status. */
  async count(query: { projector?: string; status?: DeadLetter['status'] } = {}): Promise<number> {
    checkArgument('query', query, rules.object)
    return this.#projection.store.deadLetters.count(query)
  }

  /** Re-applies the event now through its projector's handlers; on success the row is removed. */
  async retry(id: number): Promise<DeadLetterRetryResult> {
    checkArgument('id', id, rules.positiveInteger)
    return this.#projection.retryDeadLetter(id)
  }

  /** Makes the row due for the automatic replayer right away. */
  async markRetry(id: number): Promise<boolean> {
    checkArgument('id', id, rules.positiveInteger)
    return this.#projection.store.deadLetters.markRetry(id, this.#now())
  }

  /** Deletes a row; false when there was none. */
  async remove(id: number): Promise<boolean> {
    checkArgument('id', id, rules.positiveInteger)
    return this.#projection.store.deadLetters.remove(id)
  }
}
