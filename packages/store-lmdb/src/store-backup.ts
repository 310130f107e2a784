import { closeSync, existsSync, mkdirSync, openSync, readdirSync, readSync } from 'node:fs'
import { join } from 'node:path'
import { AzothError, CorruptionError, type StoreBackupInfo } from '@azothdb/core'
import { open, type RootDatabase } from 'lmdb'
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

const LMDB_MAGIC = 0xbeefc0de
const LMDB_DATA_VERSION = 2
const META_MAGIC_OFFSET = 0x18

/**
 * Checks that a file starts with an LMDB meta page before LMDB maps it: LMDB trusts its file, and
 * lmdb-js crashes the process on some garbage, so foreign files are refused here with `CORRUPTION`.
 * (Damage deeper in a file is caught by the checksums of a backup manifest, not by this check.)
 */
export function checkLmdbFile(dataFile: string): void {
  const header = Buffer.alloc(META_MAGIC_OFFSET + 8)
  const fd = openSync(dataFile, 'r')
  let n: number
  try {
    n = readSync(fd, header, 0, header.length, 0)
  } finally {
    closeSync(fd)
  }
  if (
    n < header.length ||
    header.readUInt32LE(META_MAGIC_OFFSET) !== LMDB_MAGIC ||
    header.readUInt32LE(META_MAGIC_OFFSET + 4) !== LMDB_DATA_VERSION
  ) {
    throw new CorruptionError(`${dataFile} is not an LMDB environment of the expected format`, {
      details: { where: dataFile, offset: 0 },
    })
  }
}

/** The committed head recorded inside a copied environment. */
export function readCopyHead(dataFile: string): number {
  checkLmdbFile(dataFile)
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
