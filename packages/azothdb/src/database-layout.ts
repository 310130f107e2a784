import { existsSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { AzothError, ConfigError, CorruptionError } from '@azothdb/core'
import { fsyncPathSync } from '@azothdb/core/internal'

/** Where a database keeps its events. */
export type EventLogKind = 'lmdb' | 'file'

/** Version of the directory layout and `azoth.json`; a newer one is refused. */
export const LAYOUT_FORMAT_VERSION = 1

/** `azoth.json`: what a database directory was created with. */
export interface DatabaseManifest {
  readonly format: number
  readonly eventLog: EventLogKind
  readonly createdAt: string
}

/** The paths of a database directory: `azoth.json`, `LOCK`, `canonical/`, `events/` (a SQLite projection keeps `projection.db` beside them). */
export function layoutOf(dir: string) {
  return {
    dir,
    manifest: join(dir, 'azoth.json'),
    lock: join(dir, 'LOCK'),
    canonical: join(dir, 'canonical'),
    events: join(dir, 'events'),
    /** Present only while the writer is paused or sealed (a runtime file, never backed up). */
    ingestion: join(dir, 'ingestion.json'),
  } as const
}

export type Layout = ReturnType<typeof layoutOf>

/** Reads `azoth.json`; undefined for a directory that holds no database yet. */
export function readManifest(layout: Layout): DatabaseManifest | undefined {
  if (!existsSync(layout.manifest)) return undefined
  let parsed: Partial<DatabaseManifest>
  try {
    parsed = JSON.parse(readFileSync(layout.manifest, 'utf8')) as Partial<DatabaseManifest>
  } catch (e) {
    throw new CorruptionError(`${layout.manifest} is not valid JSON`, {
      cause: e,
      details: { where: layout.manifest },
    })
  }
  if (typeof parsed.format !== 'number' || (parsed.eventLog !== 'lmdb' && parsed.eventLog !== 'file')) {
    throw new CorruptionError(`${layout.manifest} lacks its format or eventLog`, {
      details: { where: layout.manifest },
    })
  }
  if (parsed.format > LAYOUT_FORMAT_VERSION) {
    throw new ConfigError(
      `the database in ${layout.dir} has format ${parsed.format}, newer than this version of Azoth reads; upgrade Azoth`,
      { details: { field: 'format', value: parsed.format } },
    )
  }
  return { format: parsed.format, eventLog: parsed.eventLog, createdAt: String(parsed.createdAt ?? '') }
}

/**
 * The manifest of the database in `layout`, or the one a new database there gets, checked against
 * what the caller asked for. Reads only: a new database's `azoth.json` is written by
 * {@link writeManifest} once its stores opened. `azoth.json` proves a database exists, so its
 * absence next to database files is `CORRUPTION` (never a fresh database over old data), and an
 * `eventLog` option that contradicts the recorded one is `CONFIG`.
 */
export function planManifest(
  layout: Layout,
  requested: EventLogKind | undefined,
  create: boolean,
): { manifest: DatabaseManifest; isNew: boolean } {
  const existing = readManifest(layout)
  if (existing) {
    if (requested !== undefined && requested !== existing.eventLog) {
      throw new ConfigError(
        `the database in ${layout.dir} was created with eventLog '${existing.eventLog}'; it cannot be opened with '${requested}'`,
        { details: { field: 'eventLog', value: requested } },
      )
    }
    checkCanonicalPresent(layout)
    return { manifest: existing, isNew: false }
  }
  const found = DATABASE_FILES.filter((name) => existsSync(join(layout.dir, name)))
  if (found.length > 0) {
    throw new CorruptionError(
      `${layout.manifest} is missing but ${found.join(', ')} exist: the directory held a database; restore azoth.json or a backup`,
      { details: { where: layout.manifest, found } },
    )
  }
  if (!create)
    throw new AzothError('NOT_FOUND', `no Azoth database in ${layout.dir}`, { details: { path: layout.dir } })
  const manifest: DatabaseManifest = {
    format: LAYOUT_FORMAT_VERSION,
    eventLog: requested ?? 'lmdb',
    createdAt: new Date().toISOString(),
  }
  return { manifest, isNew: true }
}

/** What a database directory holds besides `azoth.json` and `LOCK`. */
export const DATABASE_FILES = [
  'canonical',
  'events',
  'projection.db',
  'projection.db-wal',
  'projection.db-shm',
  'projection.db-seal',
] as const

/**
 * The canonical store must be there when `azoth.json` is. The store checks it too (`mustExist`),
 * but the file log opens first and may repair its tail: checked here, a missing store fails the
 * open before any file is touched.
 */
function checkCanonicalPresent(layout: Layout): void {
  const dataFile = join(layout.canonical, 'data.mdb')
  let size: number
  try {
    size = statSync(dataFile).size
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') {
      throw new AzothError('IO', `cannot read ${dataFile}`, { cause: e, details: { path: dataFile } })
    }
    size = -1
  }
  if (size <= 0) {
    throw new CorruptionError(
      `the canonical store of ${layout.dir} is ${size < 0 ? 'missing' : 'empty'} (${dataFile}) while azoth.json says a database exists`,
      { details: { where: dataFile } },
    )
  }
}

/**
 * Writes `azoth.json` atomically and durably (temp file, fsync, rename, directory fsync): it is what
 * proves the database exists, so it must not vanish in a power loss after the open succeeded.
 */
export function writeManifest(layout: Layout, manifest: DatabaseManifest): void {
  const tmp = `${layout.manifest}.tmp`
  try {
    writeFileSync(tmp, `${JSON.stringify(manifest, null, 2)}\n`)
    fsyncPathSync(tmp)
    renameSync(tmp, layout.manifest)
    fsyncPathSync(layout.dir)
  } catch (e) {
    rmSync(tmp, { force: true })
    throw new AzothError('IO', `cannot write ${layout.manifest}`, {
      cause: e,
      details: { path: layout.manifest, errno: (e as NodeJS.ErrnoException).code },
    })
  }
}
