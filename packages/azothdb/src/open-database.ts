import { existsSync, mkdirSync, rmSync } from 'node:fs'
import { join } from 'node:path'
import { AzothError, CorruptionError, type Logger } from '@azothdb/core'
import { acquireProcessLock, FILE_SYSTEM, type ProcessLock, toError } from '@azothdb/core/internal'
import { type FileEventLog, openFileEventLog } from '@azothdb/store-filelog'
import { type LmdbStore, openLmdbStore } from '@azothdb/store-lmdb'
import {
  DATABASE_FILES,
  type DatabaseManifest,
  type Layout,
  layoutOf,
  planManifest,
  writeManifest,
} from './database-layout.js'
import { since } from './elapsed.js'
import { IngestionStateFile } from './ingestion-state.js'
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
  /** Pauses and seals, mirrored for other processes. */
  readonly ingestion: IngestionStateFile
  /** True for `Azoth.openReadOnly` databases: writes raise `READ_ONLY`. */
  readonly readOnly: boolean
}

function notFound(dir: string): AzothError {
  return new AzothError('NOT_FOUND', `no Azoth database in ${dir}`, { details: { path: dir } })
}

/**
 * Opens (creating when `options.create`) a database for writing: the directory lock first, then
 * the stores. An open that fails changes no file: everything that can be checked without writing
 * is checked first, and what a failed open of a new database created is removed again.
 * `azoth.json` is written last, once a new database's stores are open.
 */
export async function openWritable(dir: string, options: ResolvedAzothOptions): Promise<DatabaseParts> {
  const layout = layoutOf(dir)
  let createdDir = false
  if (!existsSync(layout.dir)) {
    if (!options.create) throw notFound(layout.dir)
    try {
      mkdirSync(layout.dir, { recursive: true })
      createdDir = true
    } catch (e) {
      throw new AzothError('IO', `cannot create ${layout.dir}`, { cause: e, details: { path: layout.dir } })
    }
  }
  let lock: ProcessLock | undefined
  let isNew = false
  try {
    lock = acquireProcessLock(layout.lock, `the database in ${layout.dir}`)
    const plan = planManifest(layout, options.eventLog, options.create)
    isNew = plan.isNew
    const parts = await openStores(layout, plan.manifest, options, lock, false, isNew)
    if (isNew) {
      try {
        writeManifest(layout, plan.manifest)
      } catch (e) {
        await closeParts(parts, options)
        throw e
      }
    }
    return parts
  } catch (e) {
    // Under the lock, nobody else can have created these files meanwhile.
    if (createdDir) removeCreated([layout.dir], options)
    else if (isNew)
      removeCreated(
        DATABASE_FILES.map((f) => join(layout.dir, f)),
        options,
      )
    lock?.release()
    throw e
  }
}

/** Removes what a failed open created (logged when it cannot: the open's own error is the one to throw). */
function removeCreated(paths: readonly string[], options: ResolvedAzothOptions): void {
  for (const path of paths) {
    try {
      rmSync(path, { recursive: true, force: true })
    } catch (e) {
      options.logger.error({ err: toError(e), path }, 'could not remove what a failed open created')
    }
  }
}

async function closeParts(parts: DatabaseParts, options: ResolvedAzothOptions): Promise<void> {
  const failed = (err: unknown) => options.logger.error({ err: toError(err) }, 'closing after a failed open')
  await parts.projection.close().catch(failed)
  await parts.store.close().catch(failed)
}

/** Opens an existing database for reading, also while a writer process holds it. */
export async function openReadOnly(dir: string, options: ResolvedAzothOptions): Promise<DatabaseParts> {
  const layout = layoutOf(dir)
  const { manifest } = planManifest(layout, undefined, false)
  return openStores(layout, manifest, options, undefined, true)
}

async function openStores(
  layout: Layout,
  manifest: DatabaseManifest,
  options: ResolvedAzothOptions,
  lock: ProcessLock | undefined,
  readOnly: boolean,
  isNew = false,
): Promise<DatabaseParts> {
  const logger = options.logger
  const started = performance.now()
  logger.debug({ dir: layout.dir, eventLog: manifest.eventLog, readOnly }, 'opening the database')
  let eventLog: FileEventLog | undefined
  let store: LmdbStore | undefined
  let projection: SqlProjection | undefined
  let logHeadAtOpen: number | undefined
  try {
    // The file log opens once LMDB's committed head is known, so a damaged log whose repair would
    // cut committed events is refused (CORRUPTION) before anything is cut.
    const openEventLog = async (committedHead: number) => {
      eventLog = await openFileEventLog(layout.events, {
        readOnly,
        logger,
        committedHead,
        ...(options.segmentBytes === undefined ? {} : { segmentBytes: options.segmentBytes }),
        ...(options.fileSystem === undefined ? {} : { [FILE_SYSTEM]: options.fileSystem }),
      })
      logHeadAtOpen = eventLog.head()
      return eventLog
    }
    store = await openLmdbStore(layout.canonical, {
      readOnly,
      // azoth.json exists (a new database's is written after this open): a missing store is CORRUPTION.
      mustExist: !isNew,
      durability: options.durability,
      limits: options.limits,
      idempotency: options.idempotency,
      clock: options.clock,
      logger,
      ...(manifest.eventLog === 'file' ? { eventLog: openEventLog } : {}),
    })
    projection = await SqlProjection.open(layout, store, options, readOnly)
    // A read-only open is how an operator inspects such a database (verify names the cursor).
    if (!readOnly) await checkProjectionHistory(projection, store.head())
    const ingestion = new IngestionStateFile(layout.ingestion, store, readOnly, logger)
    logOpened(logger, { layout, manifest, store, eventLog, readOnly, isNew }, logHeadAtOpen, started)
    return { layout, manifest, options, store, eventLog, projection, lock, readOnly, ingestion }
  } catch (e) {
    // A failed openLmdbStore has closed the log it opened; a later failure leaves both open here.
    const failed = (err: unknown) => logger.error({ err }, 'closing after a failed open')
    if (projection) await projection.close().catch(failed)
    if (store) await store.close().catch(failed)
    throw e
  }
}

/**
 * A projector cursor past the head means the projection holds effects of events this database
 * does not have (a database restored from an older backup while its PostgreSQL projection went on,
 * or another database's projection): more events would land on top of another history, so the
 * open fails instead. Reset that projection (restore its dump, or drop its tables and cursor row)
 * and open again; projectors then rebuild from the events.
 */
async function checkProjectionHistory(projection: SqlProjection, head: number): Promise<void> {
  const cursors = await projection.store.cursors()
  const ahead = Object.entries(cursors).filter(([, cursor]) => cursor > head)
  if (ahead.length === 0) return
  const [name, cursor] = ahead[0]!
  throw new CorruptionError(
    `projector '${name}' of the ${projection.store.backend} projection is at event ${cursor}, past this database's head ${head}: the projection belongs to another history; restore it from the same backup or reset it, then open again`,
    { details: { projector: name, cursor, head, projectors: Object.fromEntries(ahead) } },
  )
}

/**
 * The open's record: what was opened and what recovery did. A file log holding events past LMDB's
 * committed head (a crash between the log's append and LMDB's commit: never acknowledged) is cut
 * back to the head by a writer; that, like a torn tail, only follows a crash and is a warning.
 */
function logOpened(
  logger: Logger,
  opened: Pick<DatabaseParts, 'layout' | 'manifest' | 'store' | 'eventLog' | 'readOnly'> & { isNew: boolean },
  logHeadAtOpen: number | undefined,
  started: number,
): void {
  const { layout, manifest, store, eventLog, readOnly, isNew } = opened
  const head = store.head()
  const beyondHead = logHeadAtOpen === undefined ? 0 : Math.max(0, logHeadAtOpen - head)
  const recovery = {
    tornBytes: eventLog?.stats().recoveredBytes ?? 0,
    [readOnly ? 'uncommittedEventsIgnored' : 'uncommittedEventsCut']: beyondHead,
  }
  const record = {
    dir: layout.dir,
    eventLog: manifest.eventLog,
    readOnly,
    created: isNew,
    head,
    recovery,
    durationMs: since(started),
  }
  if (beyondHead > 0 && !readOnly) {
    logger.warn(
      { dir: layout.dir, head, logHead: logHeadAtOpen, eventsCut: beyondHead },
      'event log held events past the committed head (a crash before their commit); cut back to the head',
    )
  }
  logger.info(record, readOnly ? 'database opened read-only' : 'database opened')
}
