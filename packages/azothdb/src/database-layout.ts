import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { AzothError, ConfigError, CorruptionError } from '@azothdb/core'

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

/** The paths of a database directory: `azoth.json`, `LOCK`, `canonical/`, `events/`, `projection.db`. */
export function layoutOf(dir: string) {
  return {
    dir,
    manifest: join(dir, 'azoth.json'),
    lock: join(dir, 'LOCK'),
    canonical: join(dir, 'canonical'),
    events: join(dir, 'events'),
    projection: join(dir, 'projection.db'),
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
 * Returns the database's manifest, creating the directory and `azoth.json` for a new database.
 * An `eventLog` option that contradicts the recorded one is refused with `CONFIG`.
 */
export function prepareLayout(
  layout: Layout,
  requested: EventLogKind | undefined,
  create: boolean,
): DatabaseManifest {
  const existing = readManifest(layout)
  if (existing) {
    if (requested !== undefined && requested !== existing.eventLog) {
      throw new ConfigError(
        `the database in ${layout.dir} was created with eventLog '${existing.eventLog}'; it cannot be opened with '${requested}'`,
        { details: { field: 'eventLog', value: requested } },
      )
    }
    return existing
  }
  if (!create)
    throw new AzothError('NOT_FOUND', `no Azoth database in ${layout.dir}`, { details: { path: layout.dir } })
  try {
    mkdirSync(layout.dir, { recursive: true })
  } catch (e) {
    throw new AzothError('IO', `cannot create ${layout.dir}`, { cause: e, details: { path: layout.dir } })
  }
  const manifest: DatabaseManifest = {
    format: LAYOUT_FORMAT_VERSION,
    eventLog: requested ?? 'lmdb',
    createdAt: new Date().toISOString(),
  }
  writeManifest(layout, manifest)
  return manifest
}

/** Writes `azoth.json` atomically (temp file + rename). */
export function writeManifest(layout: Layout, manifest: DatabaseManifest): void {
  const tmp = `${layout.manifest}.tmp`
  try {
    writeFileSync(tmp, `${JSON.stringify(manifest, null, 2)}\n`)
    renameSync(tmp, layout.manifest)
  } catch (e) {
    throw new AzothError('IO', `cannot write ${layout.manifest}`, {
      cause: e,
      details: { path: layout.manifest },
    })
  }
}
