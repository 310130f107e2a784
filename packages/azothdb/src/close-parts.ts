import { AzothError, type Logger } from '@azothdb/core'
import { toError } from '@azothdb/core/internal'
import { since } from './elapsed.js'
import type { DatabaseParts } from './open-database.js'

/**
 * Shuts a database's parts down in dependency order: projectors first (they read the store and
 * write the projection), then the canonical store (which waits for in-flight commits), then the
 * projection store, then the directory lock. Every step runs even when an earlier one failed, so a
 * failing part never keeps the directory locked; the first failure is raised once all have run.
 */
export async function closeParts(parts: DatabaseParts, logger: Logger): Promise<void> {
  const { store, projection, lock } = parts
  const started = performance.now()
  // For the record only: a store that already failed has no head to report, and must still close.
  const head = headOrUndefined(store, logger)
  logger.debug({ dir: parts.layout.dir }, 'closing the database')
  const errors: unknown[] = []
  const attempt = async (what: string, fn: () => Promise<unknown>) => {
    try {
      await fn()
    } catch (e) {
      errors.push(e)
      logger.error({ err: toError(e) }, `closing ${what} failed`)
    }
  }
  await attempt('projectors', () => projection.group.stopAll())
  await attempt('the canonical store', () => store.close())
  parts.ingestion.clear()
  await attempt('the projection store', () => projection.close())
  lock?.release()
  const durationMs = since(started)
  if (errors.length === 0) logger.info({ dir: parts.layout.dir, head, durationMs }, 'database closed')
  if (errors.length > 0)
    throw new AzothError('IO', 'the database did not close cleanly', { cause: errors[0] })
}

function headOrUndefined(store: DatabaseParts['store'], logger: Logger): number | undefined {
  try {
    return store.head()
  } catch (e) {
    logger.debug({ err: toError(e) }, 'closing: the store has no head to report')
    return undefined
  }
}
