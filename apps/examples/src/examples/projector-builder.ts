/**
 * projector-builder: building projectors with error strategies and a dead-letter queue.
 *
 * The same five events (one of them poison) go through projectors built with
 * `db.projectorBuilder()`, each with another error strategy (the seed's `EventProcessor.builder(db)`
 * is a deprecated alias of the same builder):
 * - `failFast()` stops at the poison event with `PROJECTION_FAILED` (the events before it land);
 * - `logAndSkip()` logs, counts and moves past it;
 * - `deadLetter()` parks it in the dead-letter queue, in the transaction that moves the cursor;
 * - `retryWithBackoff()` re-applies a transiently failing event until it succeeds;
 * - `custom()` decides per error: here, skip validation errors and dead-letter the rest.
 * Also shows `withBatch` (events per SQLite transaction) and `withCircuitBreaker`.
 *
 * Run: pnpm example projector-builder
 */
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Azoth, ErrorStrategy, isAzothError, type Projector, type SqlEventHandler } from 'azothdb'
import { compactLogger } from '../compact-logger.js'

interface Reading {
  readonly sensor: string
  readonly celsius: number
}

/** Writes one row per reading into `<table>`; a reading below absolute zero is poison. */
function readingsInto(table: string): SqlEventHandler {
  return {
    eventTypes: ['reading'],
    handle(event, tx) {
      const r = event.payload as Reading
      if (r.celsius < -273.15) throw new RangeError(`impossible temperature ${r.celsius}`)
      tx.run(`INSERT INTO ${table} (event_id, sensor, celsius) VALUES (?, ?, ?)`, [
        event.id,
        r.sensor,
        r.celsius,
      ])
    },
  }
}

const dir = mkdtempSync(join(tmpdir(), 'azoth-projector-builder-'))
try {
  const db = await Azoth.open(dir, { logger: compactLogger() })
  const tables = ['fail_fast', 'skipped', 'dead_lettered', 'retried', 'custom']
  await db.migrate(
    tables.map((t, i) => ({
      version: i + 1,
      name: t,
      up: (tx) => tx.exec(`CREATE TABLE ${t} (event_id INTEGER PRIMARY KEY, sensor TEXT, celsius REAL)`),
    })),
  )

  const batch = db.writeBatch()
  for (const celsius of [20.5, 21, -300, 22, 23.5]) batch.appendEvent('reading', { sensor: 's1', celsius })
  await batch.commit()

  /** Rows of a table and the projector's counters. */
  const report = async (table: string, projector: Projector) => {
    const [row] = await db.query<{ n: number }>(`SELECT count(*) AS n FROM ${table}`)
    const m = projector.metrics()
    console.log(
      `${projector.name.padEnd(14)} rows ${row?.n}  cursor ${m.cursor}  skipped ${m.skipped}  dead-lettered ${m.deadLettered}  retries ${m.retries}`,
    )
  }

  // failFast: the default. The run rejects; events 1 and 2 are committed, the cursor stays at 2.
  const failFast = db
    .projectorBuilder()
    .withName('fail-fast')
    .withHandler(readingsInto('fail_fast'))
    .withErrorStrategy(ErrorStrategy.failFast())
    .build()
  try {
    await failFast.runOnce()
  } catch (e) {
    console.log('fail-fast run rejected with', isAzothError(e) ? e.code : e)
  }
  await report('fail_fast', failFast)

  const skipping = db
    .projectorBuilder()
    .withName('log-and-skip')
    .withHandler(readingsInto('skipped'))
    .withErrorStrategy(ErrorStrategy.logAndSkip())
    .withBatch({ maxEvents: 2 })
    .build()
  await skipping.runOnce()
  await report('skipped', skipping)

  const deadLettering = db
    .projectorBuilder()
    .withName('dead-letter')
    .withHandler(readingsInto('dead_lettered'))
    .withErrorStrategy(ErrorStrategy.deadLetter())
    .withDeadLetterQueue()
    .build()
  await deadLettering.runOnce()
  await report('dead_lettered', deadLettering)
  for (const row of await db.deadLetters.list({ projector: 'dead-letter' }))
    console.log(`  dead letter #${row.id}: event ${row.eventId} (${row.eventType}): ${row.errorMessage}`)

  // retryWithBackoff: a handler that fails twice (a flaky dependency), then succeeds.
  let flakyCalls = 0
  const retriedRows = readingsInto('retried')
  const flaky: SqlEventHandler = {
    eventTypes: ['reading'],
    handle(event, tx) {
      if (event.id === 4 && ++flakyCalls <= 2) throw new Error('dependency unavailable')
      return retriedRows.handle(event, tx)
    },
  }
  const retrying = db
    .projectorBuilder()
    .withName('retry')
    .withHandler(flaky)
    .withErrorStrategy(
      ErrorStrategy.retryWithBackoff({ maxRetries: 3, initialDelayMs: 10, onExhausted: 'deadLetter' }),
    )
    .withDeadLetterQueue()
    .build()
  // Event 3 (poison) fails every retry and ends in the dead-letter queue; event 4 recovers.
  await retrying.runOnce()
  await report('retried', retrying)

  const custom = db
    .projectorBuilder()
    .withName('custom')
    .withHandler(readingsInto('custom'))
    .withErrorStrategy(
      ErrorStrategy.custom(({ error }) =>
        error instanceof RangeError ? { action: 'skip' } : { action: 'deadLetter' },
      ),
    )
    .withDeadLetterQueue()
    .withCircuitBreaker({ failureThreshold: 3, resetTimeoutMs: 1_000 })
    .build()
  await custom.runOnce()
  await report('custom', custom)

  const parked = await db.deadLetters.count()
  console.log(`dead letters in the queue: ${parked}`)
  if (parked !== 2) throw new Error('expected one dead letter from dead-letter and one from retry')
  await db.close()
  console.log('ok: projector-builder')
} finally {
  rmSync(dir, { recursive: true, force: true })
}
