import { createHash } from 'node:crypto'
import { readFileSync, renameSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { CorruptionError } from '@azothdb/core'
import { ENVELOPE_FORMAT_VERSION } from '@azothdb/core/internal'
import { STORE_FORMAT_VERSION } from '@azothdb/store-lmdb'
import type { EventLogKind } from './database-layout.js'
import type { FileChecksum } from './file-checksums.js'

/** Name of the manifest in a backup directory. */
export const BACKUP_MANIFEST = 'manifest.json'
/**
 * 2: the manifest carries its own checksum. Not 3: '3' is one bit away from '1' (0x33, 0x31), so a
 * single flipped bit could pass a checksummed manifest off as an unchecked format-1 one.
 */
export const BACKUP_FORMAT_VERSION = 2
/** Backups made before manifests carried a checksum: still restored, with a warning. */
const UNCHECKED_FORMAT_VERSION = 1

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
  /**
   * SHA-256 (hex) of `JSON.stringify` of this manifest without `checksum`, its keys in the order
   * `manifest.json` holds them: a manifest that does not match it is `CORRUPTION`, never believed.
   * Absent only in format-1 manifests (backups made before it existed), which cannot be checked.
   */
  readonly checksum?: string
}

export function currentVersions(layout: number): BackupManifest['versions'] {
  return { layout, store: STORE_FORMAT_VERSION, envelope: ENVELOPE_FORMAT_VERSION }
}

/** The projection a manifest records, with the default of backups made before it recorded one. */
export function projectionOf(manifest: BackupManifest): BackupProjection {
  return manifest.projection ?? { backend: 'sqlite', file: 'projection.db' }
}

/** The checksum of a manifest's content: SHA-256 of its JSON without `checksum`, keys as they come. */
function checksumOf(content: object): string {
  return createHash('sha256').update(JSON.stringify(content)).digest('hex')
}

/**
 * Writes `manifest.json` into a backup with the checksum of `content`, through a temporary file
 * renamed into place, and returns the manifest as written.
 */
export function writeBackupManifest(
  backupDir: string,
  content: Omit<BackupManifest, 'checksum'>,
): BackupManifest {
  const manifest: BackupManifest = { ...content, checksum: checksumOf(content) }
  const tmp = join(backupDir, `${BACKUP_MANIFEST}.tmp`)
  writeFileSync(tmp, `${JSON.stringify(manifest, null, 2)}\n`)
  renameSync(tmp, join(backupDir, BACKUP_MANIFEST))
  return manifest
}

/**
 * Checks a parsed manifest against the checksum it carries: the content re-serialized the way the
 * writer serialized it (JSON.parse keeps the keys' order) must hash to it. Any change to what the
 * manifest says changes that serialization; only its spelling in the file (whitespace) does not.
 */
function checkChecksum(parsed: Record<string, unknown>, path: string): void {
  const { checksum, ...content } = parsed
  if (checksum === undefined && parsed['format'] === UNCHECKED_FORMAT_VERSION) return
  const why =
    typeof checksum !== 'string'
      ? 'it has no checksum'
      : checksum !== checksumOf(content)
        ? 'its checksum does not match'
        : undefined
  if (why !== undefined)
    throw new CorruptionError(`backup manifest ${path} is damaged: ${why}`, { details: { where: path } })
}

function isPlainFileName(name: unknown): boolean {
  return typeof name === 'string' && name.length > 0 && !name.includes('/') && !name.includes('..')
}

function isCursorRecord(value: unknown): boolean {
  return (
    value !== null &&
    typeof value === 'object' &&
    !Array.isArray(value) &&
    Object.values(value).every((cursor) => Number.isSafeInteger(cursor) && (cursor as number) >= 0)
  )
}

/**
 * Reads a backup's manifest and checks its checksum (format 2) and its shape; anything off raises
 * `CORRUPTION` naming the manifest. A format-1 manifest has no checksum: it comes back without one.
 */
export function readBackupManifest(backupDir: string): BackupManifest {
  const path = join(backupDir, BACKUP_MANIFEST)
  let read: unknown
  try {
    read = JSON.parse(readFileSync(path, 'utf8'))
  } catch (e) {
    throw new CorruptionError(`${path} is missing or not valid JSON`, { cause: e, details: { where: path } })
  }
  const formats: unknown[] = [UNCHECKED_FORMAT_VERSION, BACKUP_FORMAT_VERSION]
  if (
    read === null ||
    typeof read !== 'object' ||
    Array.isArray(read) ||
    !formats.includes((read as BackupManifest).format)
  )
    throw new CorruptionError(`${path} is not an Azoth backup manifest of a known format`, {
      details: { where: path },
    })
  checkChecksum(read as Record<string, unknown>, path)
  const parsed = read as BackupManifest
  const ok =
    typeof parsed.createdAt === 'string' &&
    Number.isSafeInteger(parsed.sealedEventId) &&
    (parsed.eventLog === 'lmdb' || parsed.eventLog === 'file') &&
    typeof parsed.stateDigest === 'string' &&
    isCursorRecord(parsed.projectorCursors) &&
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
