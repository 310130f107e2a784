import type { Azoth } from 'azothdb'

/** A projector as the projection store records it, seen from any process. */
export interface ProjectorPosition {
  readonly name: string
  /** The last event the projector applied (0: none yet). */
  readonly cursor: number
  /** Events committed and not yet applied. */
  readonly lag: number
  /**
   * `caughtUp` or `behind`. Whether it is running, stopped or failed lives in the memory of the
   * process that runs it, which another process cannot see.
   */
  readonly state: 'caughtUp' | 'behind'
  /** Its rows in the dead-letter queue. */
  readonly deadLetters: number
}

/**
 * Every projector that has recorded a cursor, with its lag behind `head` and its dead letters.
 * Cursors live in the projection's `_azoth_cursors` table, the documented system table of the
 * SQLite projection store: reading it works from a read-only process, where `db.metrics()` knows
 * only the projectors running in that process.
 */
export async function projectorPositions(db: Azoth, head: number): Promise<ProjectorPosition[]> {
  const rows = await db.query<{ projector: string; event_id: number }>(
    'SELECT projector, event_id FROM _azoth_cursors ORDER BY projector',
  )
  const positions: ProjectorPosition[] = []
  for (const row of rows) {
    const cursor = Number(row.event_id)
    const lag = Math.max(0, head - cursor)
    positions.push({
      name: row.projector,
      cursor,
      lag,
      state: lag === 0 ? 'caughtUp' : 'behind',
      deadLetters: await db.deadLetters.count({ projector: row.projector }),
    })
  }
  return positions
}
