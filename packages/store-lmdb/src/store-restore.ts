import { copyFileSync, existsSync, mkdirSync, readdirSync, renameSync, rmSync } from 'node:fs'
import { join } from 'node:path'
import { AzothError, CorruptionError, isAzothError, type RestoreCanonicalStore } from '@azothdb/core'
import { checkArgument, fsyncPathSync, rules } from '@azothdb/core/internal'
import { DATA_FILE, readCopyHead } from './store-backup.js'

/** Where a restore copies the data file before renaming it into place. */
const RESTORING_FILE = `${DATA_FILE}.restoring`

/**
 * Restores a store copied by `store.backup()` into `targetDir` (which must be empty or missing)
 * and returns its head. A copy LMDB cannot open is refused with `CORRUPTION`. All or nothing: the
 * data file is copied under a temporary name, synced and renamed, so a restore killed mid-copy
 * leaves no `data.mdb` (only the temporary file, which a rerun removes).
 */
export const restoreLmdbStore: RestoreCanonicalStore = (backupDir, targetDir) => {
  checkArgument('backupDir', backupDir, rules.path)
  checkArgument('targetDir', targetDir, rules.path)
  const source = join(backupDir, DATA_FILE)
  if (!existsSync(source))
    throw new AzothError('NOT_FOUND', `no store backup in ${backupDir}`, { details: { path: backupDir } })
  const temp = join(targetDir, RESTORING_FILE)
  const entries = existsSync(targetDir) ? readdirSync(targetDir) : []
  if (entries.length > 0 && !(entries.length === 1 && entries[0] === RESTORING_FILE)) {
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
  try {
    mkdirSync(targetDir, { recursive: true })
    rmSync(temp, { force: true }) // what a killed restore left
    copyFileSync(source, temp)
    fsyncPathSync(temp)
    renameSync(temp, join(targetDir, DATA_FILE))
    fsyncPathSync(targetDir)
  } catch (e) {
    rmSync(temp, { force: true })
    if (isAzothError(e)) throw e
    throw new AzothError('IO', `cannot restore the store into ${targetDir}`, {
      cause: e,
      details: { path: targetDir, errno: (e as NodeJS.ErrnoException).code },
    })
  }
  return head
}
