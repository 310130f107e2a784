import { createHash } from 'node:crypto'
import { readdirSync, readFileSync, statSync } from 'node:fs'
import { join } from 'node:path'

/** Lock files: taking a lock is not a change to the database. */
const IGNORED = new Set(['LOCK', 'data.mdb-lock'])

/**
 * The SHA-256 of every file under `dir` by relative path (lock files, SQLite's shared-memory index
 * and an empty write-ahead log aside; empty when the directory is absent), to prove an operation that failed wrote nothing.
 */
export function fingerprint(dir: string): Map<string, string> {
  const files = new Map<string, string>()
  const walk = (at: string, rel: string) => {
    for (const name of readdirSync(at)) {
      if (IGNORED.has(name) || name.endsWith('-shm')) continue
      const path = join(at, name)
      const stat = statSync(path)
      // SQLite creates an empty write-ahead log when it connects: no data, nothing to undo.
      if (name.endsWith('-wal') && stat.size === 0) continue
      if (stat.isDirectory()) walk(path, `${rel}${name}/`)
      else files.set(`${rel}${name}`, createHash('sha256').update(readFileSync(path)).digest('hex'))
    }
  }
  try {
    walk(dir, '')
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e
  }
  return files
}

/** Paths created, deleted or rewritten between two fingerprints. */
export function changedFiles(before: Map<string, string>, after: Map<string, string>): string[] {
  const changed: string[] = []
  for (const [path, hash] of after) if (before.get(path) !== hash) changed.push(path)
  for (const path of before.keys()) if (!after.has(path)) changed.push(path)
  return changed.sort()
}
