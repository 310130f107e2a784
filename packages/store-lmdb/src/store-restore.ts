import { copyFileSync, existsSync, mkdirSync, readdirSync } from 'node:fs'
import { join } from 'node:path'
import { AzothError, CorruptionError, type RestoreCanonicalStore } from '@azothdb/core'
import { DATA_FILE, readCopyHead } from './store-backup.js'

/**
 * Restores a store copied by `store.backup()` into `targetDir` (which must be empty or missing)
 * and returns its head. A copy LMDB cannot open is refused with `CORRUPTION`.
 */
export const restoreLmdbStore: RestoreCanonicalStore = (backupDir, targetDir) => {
  const source = join(backupDir, DATA_FILE)
  if (!existsSync(source))
    throw new AzothError('NOT_FOUND', `no store backup in ${backupDir}`, { details: { path: backupDir } })
  if (existsSync(targetDir) && readdirSync(targetDir).length > 0) {
    throw new AzothError('INVALID_ARGUMENT', `restore target ${targetDir} is not empty`, {
      details: { path: targetDir },
    })
  }
  let head: number
  try {
    head = readCopyHead(source)
  } catch (e) {
    throw new CorruptionError(`the store backup in ${backupDir} cannot be opened`, {
      cause: e,
      details: { path: backupDir },
    })
  }
  mkdirSync(targetDir, { recursive: true })
  copyFileSync(source, join(targetDir, DATA_FILE))
  return head
}
