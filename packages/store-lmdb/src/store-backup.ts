import { existsSync, mkdirSync, readdirSync } from 'node:fs'
import { join } from 'node:path'
import { AzothError, type StoreBackupInfo } from '@azothdb/core'
import { open, type RootDatabase } from 'lmdb'
import { checkDataFile } from './data-file-check.js'
import { readHead } from './meta.js'

/** File name of the LMDB environment inside a store directory. */
export const DATA_FILE = 'data.mdb'

/** Copies the environment consistently (LMDB's own copy of one read snapshot) into `targetDir`. */
export async function copyBackup(
  env: RootDatabase<Uint8Array, Uint8Array>,
  targetDir: string,
): Promise<StoreBackupInfo> {
  if (existsSync(targetDir) && readdirSync(targetDir).includes(DATA_FILE)) {
    throw new AzothError('INVALID_ARGUMENT', `backup target ${targetDir} already holds a store`, {
      details: { path: targetDir },
    })
  }
  mkdirSync(targetDir, { recursive: true })
  const target = join(targetDir, DATA_FILE)
  try {
    await env.backup(target, false)
  } catch (e) {
    throw new AzothError('IO', `backup to ${targetDir} failed`, { cause: e, details: { path: targetDir } })
  }
  return { files: [DATA_FILE], head: readCopyHead(target) }
}

/** The committed head recorded inside a copied environment. */
export function readCopyHead(dataFile: string): number {
  checkDataFile(dataFile)
  const env = open({ path: dataFile, readOnly: true, maxDbs: 8 })
  try {
    const named = { keyEncoding: 'binary', encoding: 'binary' } as const
    return readHead(
      env.openDB({ name: 'meta', ...named }) as never,
      env.openDB({ name: 'events', ...named }) as never,
    )
  } finally {
    void env.close()
  }
}
