import { AzothError } from '@azothdb/core'
import type Database from 'better-sqlite3'

/**
 * Prepared statements keyed by SQL text. Preparing costs far more than running, and handlers run
 * the same few statements for every event. Bounded, so code building SQL dynamically cannot grow
 * it without limit: the oldest entry goes first.
 */
export class StatementCache {
  private readonly map = new Map<string, Database.Statement<unknown[]>>()
  private lastSql: string | undefined
  private lastStatement: Database.Statement<unknown[]> | undefined

  constructor(
    private readonly db: Database.Database,
    private readonly capacity: number,
  ) {}

  get(sql: string): Database.Statement<unknown[]> {
    // A handler runs the same statement event after event: a constant SQL text compares by identity.
    if (sql === this.lastSql && this.lastStatement !== undefined) return this.lastStatement
    let stmt = this.map.get(sql)
    if (stmt === undefined) {
      try {
        stmt = this.db.prepare<unknown[]>(sql)
      } catch (e) {
        throw new AzothError('INVALID_ARGUMENT', `cannot prepare SQL: ${(e as Error).message}`, {
          cause: e,
          details: { sql },
        })
      }
      if (this.map.size >= this.capacity) {
        const oldest = this.map.keys().next().value
        if (oldest !== undefined) this.map.delete(oldest)
      }
      this.map.set(sql, stmt)
    }
    this.lastSql = sql
    this.lastStatement = stmt
    return stmt
  }

  clear(): void {
    this.map.clear()
    this.lastSql = undefined
    this.lastStatement = undefined
  }
}
