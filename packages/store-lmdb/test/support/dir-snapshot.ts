import { createHash } from 'node:crypto'
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs'
import { join } from 'node:path'

/** LMDB's lock file holds its reader table, runtime state that any open rewrites: only its presence counts. */
const LMDB_LOCK_FILE = 'data.mdb-lock'

/**
 * Every file of `dir` (not recursive) with its size and sha256, to show that nothing changed; null
 * when `dir` is missing.
 */
export function dirSnapshot(dir: string): Record<string, string> | null {
  if (!existsSync(dir)) return null
  const out: Record<string, string> = {}
  for (const name of readdirSync(dir).sort()) {
    const path = join(dir, name)
    const stat = statSync(path)
    out[name] = !stat.isFile()
      ? 'directory'
      : name === LMDB_LOCK_FILE
        ? 'present'
        : `${stat.size} ${createHash('sha256').update(readFileSync(path)).digest('hex')}`
  }
  return out
}
