import { existsSync, mkdirSync } from 'node:fs'
import { AzothError } from '@azothdb/core'
import { acquireProcessLock, type ProcessLock } from '@azothdb/core/internal'
import { type FileEventLog, openFileEventLog } from '@azothdb/store-filelog'
import { type LmdbStore, openLmdbStore } from '@azothdb/store-lmdb'
import {
  type DatabaseManifest,
  type Layout,
  layoutOf,
  prepareLayout,
  readManifest,
} from './database-layout.js'
import type { ResolvedAzothOptions } from './options.js'
import { SqlProjection } from './sql-projection.js'

/** What an open database is made of; only the database itself holds it. */
export interface DatabaseParts {
  readonly layout: Layout
  readonly manifest: DatabaseManifest
  readonly options: ResolvedAzothOptions
  readonly store: LmdbStore
  readonly eventLog: FileEventLog | undefined
  readonly projection: SqlProjection
  readonly lock: ProcessLock | undefined
  /** True for `Azoth.openReadOnly` databases: writes raise `READ_ONLY`. */
  readonly readOnly: boolean
}

function notFound(dir: string): AzothError {
  return new AzothError('NOT_FOUND', `no Azoth database in ${dir}`, { details: { path: dir } })
}

/** Opens (creating when `options.create`) a database for writing: the directory lock first, then the stores. */
export async function openWritable(dir: string, options: ResolvedAzothOptions): Promise<DatabaseParts> {
  const layout = layoutOf(dir)
  if (!existsSync(layout.dir)) {
    if (!options.create) throw notFound(layout.dir)
    try {
      mkdirSync(layout.dir, { recursive: true })
    } catch (e) {
      throw new AzothError('IO', `cannot create ${layout.dir}`, { cause: e, details: { path: layout.dir } })
    }
  }
  const lock = acquireProcessLock(layout.lock, `the database in ${layout.dir}`)
  try {
    const manifest = prepareLayout(layout, options.eventLog, options.create)
    return await openStores(layout, manifest, options, lock, false)
  } catch (e) {
    lock.release()
    throw e
  }
}

/** Opens an existing database for reading, also while a writer process holds it. */
export async function openReadOnly(dir: string, options: ResolvedAzothOptions): Promise<DatabaseParts> {
  const layout = layoutOf(dir)
  const manifest = readManifest(layout)
  if (manifest === undefined) throw notFound(layout.dir)
  return openStores(layout, manifest, options, undefined, true)
}

async function openStores(
  layout: Layout,
  manifest: DatabaseManifest,
  options: ResolvedAzothOptions,
  lock: ProcessLock | undefined,
  readOnly: boolean,
): Promise<DatabaseParts> {
  const logger = options.logger
  let eventLog: FileEventLog | undefined
  let store: LmdbStore | undefined
  try {
    if (manifest.eventLog === 'file') {
      eventLog = await openFileEventLog(layout.events, {
        readOnly,
        logger,
        ...(options.segmentBytes === undefined ? {} : { segmentBytes: options.segmentBytes }),
      })
    }
    store = await openLmdbStore(layout.canonical, {
      readOnly,
      durability: options.durability,
      limits: options.limits,
      clock: options.clock,
      logger,
      ...(eventLog ? { eventLog } : {}),
    })
    const projection = SqlProjection.open(layout, store, options, readOnly)
    return { layout, manifest, options, store, eventLog, projection, lock, readOnly }
  } catch (e) {
    if (store)
      await store.close().catch((err: unknown) => logger.error({ err }, 'closing after a failed open'))
    else if (eventLog)
      await eventLog.close().catch((err: unknown) => logger.error({ err }, 'closing after a failed open'))
    throw e
  }
}
