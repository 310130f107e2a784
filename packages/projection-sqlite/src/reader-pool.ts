import { AzothError } from '@azothdb/core'
import Database from 'better-sqlite3'
import { toSqliteAzothError } from './sqlite-errors.js'
import type { SqlParams } from './sqlite-tx.js'
import { StatementCache } from './statement-cache.js'

/** Prepared statements kept per reader connection. */
const READER_CACHE_SIZE = 200

/**
 * Read-only connections to the projection file, opened on first use and used round-robin. In WAL
 * mode each query sees the last committed state and never blocks the writer. Every failure is an
 * Azoth error: SQL that does not prepare is `INVALID_ARGUMENT` (as on the writer), and so is a
 * statement that tries to write (SQLite refuses it on a read-only connection); see
 * {@link toSqliteAzothError} for the rest.
 */
export class ReaderPool {
  private readonly connections: Array<{ db: Database.Database; cache: StatementCache }> = []
  private next = 0

  constructor(
    private readonly path: string,
    private readonly size: number,
  ) {}

  all<Row>(sql: string, params: SqlParams | undefined): Row[] {
    const stmt = this.pick().cache.get(sql)
    return runQuery<Row>(stmt, sql, params)
  }

  private pick(): { db: Database.Database; cache: StatementCache } {
    if (this.connections.length < this.size) {
      let db: Database.Database
      try {
        db = new Database(this.path, { readonly: true, fileMustExist: true })
      } catch (e) {
        throw toSqliteAzothError(e, `cannot open a reader connection to ${this.path}`, { where: this.path })
      }
      const conn = { db, cache: new StatementCache(db, READER_CACHE_SIZE) }
      this.connections.push(conn)
      return conn
    }
    const conn = this.connections[this.next]!
    this.next = (this.next + 1) % this.connections.length
    return conn
  }

  close(): void {
    for (const c of this.connections) c.db.close()
    this.connections.length = 0
  }
}

/**
 * Runs a prepared `query()` statement: it must return rows; whatever SQLite or better-sqlite3
 * raises while binding or stepping becomes an Azoth error with the original as `cause`.
 */
export function runQuery<Row>(
  stmt: Database.Statement<unknown[]>,
  sql: string,
  params: SqlParams | undefined,
): Row[] {
  if (!stmt.reader) {
    throw new AzothError('INVALID_ARGUMENT', 'query accepts statements that return rows only', {
      details: { sql },
    })
  }
  try {
    return (params === undefined ? stmt.all() : stmt.all(params)) as Row[]
  } catch (e) {
    throw toSqliteAzothError(e, 'query failed', { sql })
  }
}
