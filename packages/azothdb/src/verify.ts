import type { VerifyProblem, VerifyReport } from '@azothdb/core'
import { isAzothError, type Logger } from '@azothdb/core'
import { bytesEqual } from '@azothdb/core/internal'
import type { DatabaseParts } from './open-database.js'

/** As many problems as the store lists; the rest are counted. */
const MAX_LISTED = 1000

/**
 * The store's walk (state values, events in LMDB or the file log: checksums and gapless ids), then
 * what ties the projection to the events: every cursor at or below the head, every dead letter
 * naming a stored event with the same bytes.
 */
export async function verifyDatabase(parts: DatabaseParts, logger: Logger): Promise<VerifyReport> {
  const { store, projection } = parts
  const storeReport = await store.verify()
  const problems = [...storeReport.problems]
  let omitted = storeReport.problemsOmitted
  const add = (p: VerifyProblem): void => {
    if (problems.length < MAX_LISTED) problems.push(p)
    else omitted++
  }
  // Commits may have landed during the walk: compare with the head now, which only grows.
  const head = store.head()

  const cursors = await projection.store.cursors()
  for (const [name, cursor] of Object.entries(cursors)) {
    if (cursor > head) {
      add({
        kind: 'cursor',
        where: `projector ${JSON.stringify(name)}`,
        detail: `its cursor is at event ${cursor}, beyond the head ${head}: it applied events the log does not hold`,
        eventId: cursor,
      })
    }
  }

  const deadLetters = await projection.store.deadLetters.list()
  for (const row of deadLetters) {
    const where = `dead letter ${row.id} (projector ${JSON.stringify(row.projector)})`
    if (!Number.isSafeInteger(row.eventId) || row.eventId < 1 || row.eventId > head) {
      add({
        kind: 'dead-letter',
        where,
        detail: `it names event ${row.eventId}, which is not in the log (head ${head})`,
        eventId: row.eventId,
      })
      continue
    }
    let stored: Uint8Array | undefined
    try {
      stored = store.getEvent(row.eventId)
    } catch (e) {
      // A damaged event is already reported by the store's walk.
      if (isAzothError(e, 'CORRUPTION')) continue
      throw e
    }
    // undefined: compacted out of the file log; the row keeps the envelope, which is all a retry needs.
    if (stored !== undefined && !bytesEqual(stored, row.envelope)) {
      add({
        kind: 'dead-letter',
        where,
        detail: `its envelope (${row.envelope.length} bytes) differs from stored event ${row.eventId} (${stored.length} bytes)`,
        eventId: row.eventId,
      })
    }
  }

  const integrity = await projection.store.checkIntegrity?.()
  for (const found of integrity ?? []) {
    add({ kind: 'projection', where: `the ${projection.store.backend} projection`, detail: found })
  }

  const report: VerifyReport = {
    ok: problems.length + omitted === 0,
    problems,
    problemsOmitted: omitted,
    checked: {
      ...storeReport.checked,
      cursors: Object.keys(cursors).length,
      deadLetters: deadLetters.length,
      projection: integrity !== undefined,
    },
  }
  if (report.ok) logger.info({ checked: report.checked }, 'verify found no damage')
  else logger.warn({ problems: problems.length + omitted, first: problems[0] }, 'verify found damage')
  return report
}
