import type { DatabaseParts } from './open-database.js'

/** Drops file-log segments below the slowest projector's cursor; how many events were dropped. */
export async function compactEventLog(parts: DatabaseParts): Promise<number> {
  const log = parts.eventLog
  if (log === undefined) return 0
  const slowest = await parts.projection.slowestCursor()
  if (slowest === undefined || slowest < 1) return 0
  return log.deleteBefore(slowest + 1)
}
