import { withDeadline } from './deadline.js'

/**
 * Emmett's SQLite store opens a connection per call, and with concurrent calls (and now and then
 * with none) SQLite answers SQLITE_BUSY ("database is locked", "cannot commit transaction - SQL
 * statements in progress", or a failed rollback of a BEGIN refused as busy); nothing of the call
 * is written.
 */
export function isSqliteBusy(e: unknown): boolean {
  const { errno, message } = e as { errno?: unknown; message?: unknown }
  // A BEGIN refused as busy makes Emmett's rollback fail in turn, and that is what it throws.
  return errno === 5 || (errno === 1 && String(message).includes('no transaction is active'))
}

/**
 * Emmett's SQLite store runs `PRAGMA journal_mode = WAL` without a callback on every connection it
 * opens (one per call): when SQLite answers SQLITE_BUSY there, node-sqlite3 emits an 'error' event
 * nobody listens to, and the process dies. The database is in WAL mode already, so nothing is lost
 * by the failed pragma: while Emmett's side runs, such errors are counted and ignored; any other
 * uncaught error still ends the process.
 */
export const strayBusy = {
  count: 0,
  listener(e: unknown): void {
    if (!isSqliteBusy(e)) throw e
    strayBusy.count++
  },
}

/**
 * Retries a call of Emmett's SQLite store that failed with SQLITE_BUSY (with the same expected
 * version, as an application would have to) and counts the retries.
 */
export class BusyRetries {
  count = 0
  calls = 0
  async call<T>(fn: () => Promise<T>): Promise<T> {
    this.calls++
    for (let attempt = 1; ; attempt++) {
      try {
        return await withDeadline(fn())
      } catch (e) {
        if (!isSqliteBusy(e) || attempt >= 100) throw e
        this.count++
      }
    }
  }
  report(): Record<string, string | number> {
    return { busyRetries: `${this.count} in ${this.calls} calls`, strayBusyErrors: strayBusy.count }
  }
}
