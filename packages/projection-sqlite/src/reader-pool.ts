import { AzothError } from '@azoth/core'
import Database from 'better-sqlite3'
import type { SqlParams } from './sqlite-tx.js'

/**
 * Read-only connections to the projection file, opened on first use and used round-robin. In WAL
 * mode each query sees the last committed state and never blocks the writer.
 */
export class ReaderPool {
  private readonly connections: Array<{ db: Database.Database; cache: Map<string, Database.Statement> }> = []
  private next = 0

  constructor(
    private readonly path: string,
    private readonly size: number,
  ) {}

  all<Row>(sql: string, params: SqlParams | undefined): Row[] {
    const conn = this.pick()
    let stmt = conn.cache.get(sql)
    if (stmt === undefined) {
      try {
        stmt = conn.db.prepare(sql)
      } catch (e) {
        throw new AzothError('INVALID_ARGUMENT', `cannot prepare query: ${(e as Error).message}`, {
          cause: e,
          details: { sql },
        })
      }
      if (conn.cache.size >= 200) conn.cache.clear()
      conn.cache.set(sql, stmt)
    }
    if (!stmt.reader)
      throw new AzothError('INVALID_ARGUMENT', 'query accepts statements that return rows only')
    return (params === undefined ? stmt.all() : stmt.all(params)) as Row[]
  }

  private pick(): { db: Database.Database; cache: Map<string, Database.Statement> } {
    if (this.connections.length < this.size) {
      const db = new Database(this.path, { readonly: true, fileMustExist: true })
      const conn = { db, cache: new Map<string, Database.Statement>() }
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
