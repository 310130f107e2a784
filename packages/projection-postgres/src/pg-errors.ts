import { AzothError, type AzothErrorCode, isAzothError } from '@azothdb/core'

// SQLSTATE classes that mean the server, the connection or the machine failed, not the statement:
// 08 connection, 53 insufficient resources (disk full), 57 operator intervention (shutdown, a
// cancelled query), 58 system errors, 40 a rolled-back transaction (serialization, deadlock).
const ENVIRONMENTAL = new Set(['08', '53', '57', '58', '40', 'XX'])
const CORRUPT = new Set(['XX001', 'XX002'])
// What `pg` raises when `connectionTimeoutMillis` runs out: the client's own connect, a pool's
// connect of a new client, or a pool that found no free connection in time. All mean the server
// did not answer, like a statement past `queryTimeoutMs`.
const CONNECT_TIMEOUTS = new Set([
  'timeout expired',
  'timeout exceeded when trying to connect',
  'Connection terminated due to connection timeout',
])

/**
 * The Azoth code for an error from `pg`: `CORRUPTION` for damaged data, `TIMEOUT` when a connection
 * attempt got no answer in time, `IO` when the server,
 * the connection or the machine failed (the same statement may work later), `INVALID_ARGUMENT` when
 * the statement or its parameters are at fault (syntax, constraints, types, a write in a read-only
 * query).
 */
export function pgErrorCode(e: unknown): AzothErrorCode {
  const code = (e as { code?: unknown } | null)?.code
  // Not a server error: the socket failed ("Connection terminated", ECONNREFUSED...) or the
  // driver refused the call; a driver refusal is a TypeError about the arguments.
  if (typeof code !== 'string' || code.length !== 5) {
    if (e instanceof TypeError) return 'INVALID_ARGUMENT'
    return e instanceof Error && CONNECT_TIMEOUTS.has(e.message) ? 'TIMEOUT' : 'IO'
  }
  if (CORRUPT.has(code)) return 'CORRUPTION'
  return ENVIRONMENTAL.has(code.slice(0, 2)) ? 'IO' : 'INVALID_ARGUMENT'
}

/** `e` as an Azoth error (kept when it already is one), with the driver's error as `cause`. */
export function toPgAzothError(e: unknown, message: string, details?: Record<string, unknown>): AzothError {
  if (isAzothError(e)) return e
  const code = pgErrorCode(e)
  const sqlState = (e as { code?: unknown } | null)?.code
  return new AzothError(code, `${message}: ${(e as Error | null)?.message ?? String(e)}`, {
    cause: e,
    details: { ...details, ...(typeof sqlState === 'string' ? { sqlState } : {}) },
  })
}
