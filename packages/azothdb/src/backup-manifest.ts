import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { CorruptionError } from '@azothdb/core'
import { ENVELOPE_FORMAT_VERSION } from '@azothdb/core/internal'
import { STORE_FORMAT_VERSION } from '@azothdb/store-lmdb'
import type { EventLogKind } from './database-layout.js'
import type { FileChecksum } from './file-checksums.js'

/** Name of the manifest in a backup directory. */
export const BACKUP_MANIFEST = 'manifest.json'
export const BACKUP_FORMAT_VERSION = 1

/** What `manifest.json` of a backup records. */
export interface BackupManifest {
  /** Version of this manifest format. */
  readonly format: number
  /** When the backup was taken (ISO 8601). */
  readonly createdAt: string
  /** The head the backup was sealed at: the copy holds exactly events 1..sealedEventId. */
  readonly sealedEventId: number
  /** Where the backed-up database keeps its events. */
  readonly eventLog: EventLogKind
  /** On-disk format versions of the copied parts: directory layout, LMDB store, event envelope. */
  readonly versions: {
    /** Of the directory layout and `azoth.json`. */
    readonly layout: number
    /** Of the LMDB store. */
    readonly store: number
    /** Of the event envelope. */
    readonly envelope: number
  }
  /** Each projector's cursor in the copied projection. */
  readonly projectorCursors: Readonly<Record<string, number>>
  /** SHA-256 over the whole state, to check a restore end to end. */
  readonly stateDigest: string
  /** Every file of the backup with its size and SHA-256; restore refuses any mismatch. */
  readonly files: readonly FileChecksum[]
}

export function currentVersions(layout: number): BackupManifest['versions'] {
  return { layout, store: STORE_FORMAT_VERSION, envelope: ENVELOPE_FORMAT_VERSION }
}

/** Reads and checks the shape of a backup's manifest; anything off raises `CORRUPTION`. */
export function readBackupManifest(backupDir: string): BackupManifest {
  const path = join(backupDir, BACKUP_MANIFEST)
  let parsed: BackupManifest
  try {
    parsed = JSON.parse(readFileSync(path, 'utf8')) as BackupManifest
  } catch (e) {
    throw new CorruptionError(`${path} is missing or not valid JSON`, { cause: e, details: { where: path } })
  }
  const ok =
    parsed !== null &&
    typeof parsed === 'object' &&
    parsed.format === BACKUP_FORMAT_VERSION &&
    Number.isSafeInteger(parsed.sealedEventId) &&
    (parsed.eventLog === 'lmdb' || parsed.eventLog === 'file') &&
    typeof parsed.stateDigest === 'string' &&
    Array.isArray(parsed.files) &&
    parsed.files.every(
      (f) =>
        typeof f?.path === 'string' &&
        !f.path.includes('..') &&
        !f.path.startsWith('/') &&
        Number.isSafeInteger(f.bytes) &&
        typeof f.sha256 === 'string',
    )
  if (!ok)
    throw new CorruptionError(`${path} is not a valid Azoth backup manifest`, { details: { where: path } })
  return parsed
}
