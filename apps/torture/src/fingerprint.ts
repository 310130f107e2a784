import { createHash } from 'node:crypto'
import { readdirSync, readFileSync, statSync } from 'node:fs'
import { join } from 'node:path'

/** Lock files: taking a lock is not a change to the database. */
const IGNORED = new Set(['LOCK', 'data.mdb-lock'])

/**
 * A digest of every file under `dir` (names and contents, lock files aside; `missing` when the
 * directory is absent), to prove an operation that failed wrote nothing.
 */
export function fingerprint(dir: string): string {
  const hash = createHash('sha256')
  const walk = (at: string, rel: string) => {
    for (const name of readdirSync(at).sort()) {
      if (IGNORED.has(name) || name.endsWith('-shm')) continue
      const path = join(at, name)
      if (statSync(path).isDirectory()) walk(path, `${rel}${name}/`)
      else hash.update(`${rel}${name}\u0000`).update(readFileSync(path)).update('\u0000')
    }
  }
  try {
    walk(dir, '')
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return 'missing'
    throw e
  }
  return hash.digest('hex')
}
