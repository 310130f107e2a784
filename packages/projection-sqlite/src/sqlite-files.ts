import { rmSync } from 'node:fs'
import { sealPathOf } from './file-seal.js'

/** Removes a database file, its WAL companions and its seal (tests, restore). */
export function removeSqliteFiles(path: string): void {
  for (const file of [path, `${path}-wal`, `${path}-shm`, sealPathOf(path)]) rmSync(file, { force: true })
}
