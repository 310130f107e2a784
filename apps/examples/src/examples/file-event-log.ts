/**
 * file-event-log: the same application on the file log backend.
 *
 * `Azoth.open(dir, { eventLog: 'file' })` keeps the state in LMDB but the events in a segmented,
 * checksummed, append-only file log under `<dir>/events/` (crash-safe: a torn tail is repaired
 * and the log is truncated back to the committed head on open). Everything else is unchanged:
 * transactions, preflight, projectors, backups. The choice is recorded at creation: reopening
 * with the other backend raises `CONFIG`. `db.compactEventLog()` drops whole segments whose
 * events every projector has applied (the LMDB log keeps everything).
 *
 * Run: pnpm example file-event-log
 */
import { mkdtempSync, readdirSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Azoth, type AzothOptions, isAzothError, TypedValue } from 'azothdb'

/** The application: the same code whichever backend holds the events. */
async function runShop(
  dir: string,
  options: AzothOptions,
): Promise<{ head: number; stock: bigint; sold: number }> {
  const db = await Azoth.open(dir, options)
  await db.migrate([
    { version: 1, name: 'sales', up: (tx) => tx.exec('CREATE TABLE sales (sku TEXT, qty INTEGER)') },
  ])
  await db.writeBatch().put('stock/widget', 1_000n).commit()
  const projector = db.projector({
    name: 'sales',
    handlers: [
      {
        eventTypes: ['sold'],
        handle(event, tx) {
          const { sku, qty } = event.payload as { sku: string; qty: number }
          tx.run('INSERT INTO sales VALUES (?, ?)', [sku, qty])
        },
      },
    ],
  })
  const sell = (qty: number) =>
    db
      .transaction()
      .requireMin('stock/widget', qty)
      .execute((tx) => {
        tx.update('stock/widget', (v) => TypedValue.i64(v!.asI64() - BigInt(qty)))
        tx.log('sold', { sku: 'widget', qty, note: 'x'.repeat(200) })
      })
  for (let i = 0; i < 20; i++) await Promise.all([sell(3), sell(4), sell(5)])
  await projector.runOnce()
  const [row] = await db.query<{ sold: number }>('SELECT sum(qty) AS sold FROM sales')
  const result = { head: db.head(), stock: db.get('stock/widget').asI64(), sold: row?.sold ?? 0 }
  await db.close()
  return result
}

const root = mkdtempSync(join(tmpdir(), 'azoth-file-event-log-'))
try {
  const onLmdb = await runShop(join(root, 'lmdb'), {}) // eventLog: 'lmdb' is the default
  const onFile = await runShop(join(root, 'file'), { eventLog: 'file', segmentBytes: 4096 })
  console.log('lmdb log:', onLmdb)
  console.log('file log:', onFile)
  const same = onLmdb.head === onFile.head && onLmdb.stock === onFile.stock && onLmdb.sold === onFile.sold
  if (!same) throw new Error('the backends disagree')

  // The file database on disk: segments under events/.
  console.log('events/ holds', readdirSync(join(root, 'file', 'events')).length, 'files')

  // Reopening with the other backend is refused: the choice is part of the database.
  try {
    await Azoth.open(join(root, 'file'), { eventLog: 'lmdb' })
  } catch (e) {
    if (!isAzothError(e, 'CONFIG')) throw e
    console.log('reopening the file database with eventLog lmdb:', e.code)
  }

  // Reopen (the backend is read from azoth.json) and compact what every projector has applied.
  const db = await Azoth.open(join(root, 'file'))
  console.log(`reopened: eventLog ${db.eventLogKind}, head ${db.head()}`)
  const dropped = await db.compactEventLog()
  const first = db.events({ limit: 1 }).next().value
  console.log(`compaction dropped ${dropped} applied events; first stored event now ${first?.id ?? 'none'}`)
  await db.close()
  console.log('ok: file-event-log')
} finally {
  rmSync(root, { recursive: true, force: true })
}
