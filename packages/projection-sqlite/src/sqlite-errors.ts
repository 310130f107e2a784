import { AzothError, type AzothErrorCode, type AzothErrorDetails, isAzothError } from '@azothdb/core'

// Primary SQLite result codes that mean the statement or its parameters are at fault, not the file
// or the machine: the same SQL would fail the same way anywhere.
const CALLER_FAULTS = new Set([
  'SQLITE_ERROR',
  'SQLITE_MISMATCH',
  'SQLITE_RANGE',
  'SQLITE_TOOBIG',
  'SQLITE_CONSTRAINT',
  'SQLITE_AUTH',
  'SQLITE_MISUSE',
])

/**
 * The Azoth code for an error better-sqlite3 raised while preparing or running a statement:
 * `INVALID_ARGUMENT` for bad SQL, bad parameters and a write through a read-only connection (what
 * `StatementCache` already raises for SQL that does not prepare); `CORRUPTION` for a damaged
 * file; `IO` for everything environmental (I/O errors, a full disk, a busy or locked file, a WAL
 * that a read-only connection cannot recover...).
 */
export function sqliteErrorCode(e: unknown): AzothErrorCode {
  const code = (e as { code?: unknown } | null)?.code
  // Not a SqliteError: better-sqlite3 checks parameters itself (TypeError, RangeError).
  if (typeof code !== 'string' || !code.startsWith('SQLITE_')) return 'INVALID_ARGUMENT'
  // The statement tries to write; the extended SQLITE_READONLY_* codes are environmental (IO).
  if (code === 'SQLITE_READONLY') return 'INVALID_ARGUMENT'
  const primary = /^SQLITE_[A-Z]+/.exec(code)?.[0] ?? code
  if (primary === 'SQLITE_CORRUPT' || primary === 'SQLITE_NOTADB') return 'CORRUPTION'
  return CALLER_FAULTS.has(primary) ? 'INVALID_ARGUMENT' : 'IO'
}

/** `e` as an Azoth error (kept as it is when it already is one), the original as `cause`. */
export function toSqliteAzothError(e: unknown, message: string, details: AzothErrorDetails): AzothError {
  if (isAzothError(e)) return e
  return new AzothError(sqliteErrorCode(e), `${message}: ${(e as Error | null)?.message ?? String(e)}`, {
    cause: e,
    details,
  })
}
