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

/** Where a backup's projection copy comes from. */
export interface BackupProjection {
  /** The projection backend of the backed-up database (`'sqlite'`, `'postgres'`). */
  readonly backend: string
  /** The copy's file in the backup directory (`'projection.db'`, `'projection.pgdump'`). */
  readonly file: string
}

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
  /**
   * The projection backend the copy comes from and its file in the backup (`'sqlite'`,
   * `'projection.db'`); absent in backups made before the choice existed, which are SQLite's.
   */
  readonly projection?: BackupProjection
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

/** The projection a manifest records, with the default of backups made before it recorded one. */
export function projectionOf(manifest: BackupManifest): BackupProjection {
  return manifest.projection ?? { backend: 'sqlite', file: 'projection.db' }
}

function isPlainFileName(name: unknown): boolean {
  return typeof name === 'string' && name.length > 0 && !name.includes('/') && !name.includes('..')
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
    (parsed.projection === undefined ||
      (typeof parsed.projection?.backend === 'string' && isPlainFileName(parsed.projection.file))) &&
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
