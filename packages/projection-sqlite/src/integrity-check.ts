import { createRequire } from 'node:module'
import { Worker } from 'node:worker_threads'
import { AzothError } from '@azothdb/core'

/** At most this many problems are listed by SQLite; a damaged file rarely needs more to be judged. */
const MAX_PROBLEMS = 100

// SQLite's check reads every page synchronously, seconds for a large file: in a worker thread the
// database's own thread goes on committing. Plain JavaScript, eval'd: no loader needed, from
// sources or from dist alike; the driver is resolved here and handed over by path.
const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads')
const Database = require(workerData.driver)
let db
try {
  db = new Database(workerData.path, { readonly: true, fileMustExist: true })
  db.pragma('busy_timeout = ' + workerData.busyTimeoutMs)
  const rows = db.pragma('quick_check(' + workerData.max + ')', { simple: false })
  const found = rows.map((row) => String(Object.values(row)[0]))
  parentPort.postMessage({ problems: found.length === 1 && found[0] === 'ok' ? [] : found })
} catch (e) {
  parentPort.postMessage({ error: { message: String(e && e.message), code: String(e && e.code) } })
} finally {
  if (db !== undefined) db.close()
}
`

type WorkerAnswer =
  | { readonly problems: readonly string[] }
  | { readonly error: { readonly message: string; readonly code: string } }

/** SQLite result codes that mean the file itself is damaged, not that it could not be read. */
const DAMAGE_CODES = new Set(['SQLITE_CORRUPT', 'SQLITE_NOTADB'])

/**
 * SQLite's `quick_check` of the file at `path` (every page and record, not the indexes' agreement
 * with their tables), from a read-only connection in a worker thread: the problems it found,
 * empty for an intact file. A file too damaged to be checked is one problem; a file that cannot
 * be opened at all (missing, unreadable) is `IO`.
 */
export function checkSqliteIntegrity(path: string, busyTimeoutMs: number): Promise<readonly string[]> {
  const driver = createRequire(import.meta.url).resolve('better-sqlite3')
  return new Promise((resolve, reject) => {
    let settled = false
    const worker = new Worker(WORKER_SOURCE, {
      eval: true,
      workerData: { path, driver, max: MAX_PROBLEMS, busyTimeoutMs },
    })
    const fail = (cause: unknown): void => {
      if (settled) return
      settled = true
      reject(new AzothError('IO', `cannot check the SQLite file ${path}`, { cause, details: { path } }))
    }
    worker.once('message', (answer: WorkerAnswer) => {
      if (settled) return
      if ('problems' in answer) {
        settled = true
        resolve(answer.problems)
      } else if (DAMAGE_CODES.has(answer.error.code)) {
        settled = true
        resolve([`${answer.error.code}: ${answer.error.message}`])
      } else fail(Object.assign(new Error(answer.error.message), { code: answer.error.code }))
    })
    worker.once('error', fail)
    worker.once('exit', (code) => fail(new Error(`the integrity check's worker exited (${code})`)))
  })
}
