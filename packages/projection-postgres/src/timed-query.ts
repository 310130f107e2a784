import { AzothError } from '@azothdb/core'
import type pg from 'pg'

/**
 * Ends a connection at once, without the Terminate handshake a frozen server would never answer:
 * `pg` rejects what was pending on it, emits 'error', and the client can never be used again.
 */
export function destroyConnection(client: pg.ClientBase): void {
  ;(client as pg.Client).connection.stream.destroy()
}

/**
 * Runs one statement (or a simple-protocol script) on `client`, bounded by `timeoutMs`. Past it
 * the connection is destroyed, not merely abandoned: `pg` would otherwise keep the unanswered
 * statement active and send the next ones behind it once the server woke up, so a transaction
 * whose caller saw a failure could still commit. The server rolls back the open transaction of a
 * connection that died. Rejects with `TIMEOUT`; other failures are `pg`'s own errors.
 */
export function timedQuery(
  client: pg.ClientBase,
  timeoutMs: number,
  sql: string,
  params?: readonly unknown[],
): Promise<pg.QueryResult> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      const cause = new Error(`no answer from PostgreSQL within ${timeoutMs} ms`)
      reject(
        new AzothError('TIMEOUT', `PostgreSQL did not answer within queryTimeoutMs (${timeoutMs} ms)`, {
          cause,
          details: { sql, timeoutMs },
        }),
      )
      destroyConnection(client)
    }, timeoutMs)
    client.query(sql, params as unknown[] | undefined).then(
      (result) => {
        clearTimeout(timer)
        resolve(result)
      },
      (e: unknown) => {
        clearTimeout(timer)
        reject(e)
      },
    )
  })
}

/** The result of the last statement of a simple-protocol script (`pg` returns an array for several). */
export function lastResult(result: pg.QueryResult | pg.QueryResult[]): pg.QueryResult {
  return Array.isArray(result) ? result[result.length - 1]! : result
}
