import { Azoth } from 'azothdb'
import {
  ACCOUNTS,
  accountKey,
  ledgerProjector,
  note,
  openAccounts,
  poison,
  transfer,
} from '../../src/ledger.js'
import type { Prng } from '../../src/prng.js'

/**
 * Builds a ledger database in `dir` (the file log in many small segments, with sidecars) with
 * transfers, notes, dead-lettered poison events and a caught-up projection, then backs it up into
 * `backupDir` as the last step, so the backup holds exactly what the database holds.
 */
export async function buildReferenceLedger(
  dir: string,
  backupDir: string,
  eventLog: 'lmdb' | 'file',
  random: Prng,
  operations = 150,
  /** Extra 16 KiB values, to make copies (and restores) take long enough to be interrupted. */
  paddingKeys = 0,
): Promise<void> {
  const db = await Azoth.open(dir, { eventLog, ...(eventLog === 'file' ? { segmentBytes: 4096 } : {}) })
  try {
    const ledger = await ledgerProjector(db)
    await openAccounts(db)
    for (let tx = 1; tx <= operations; tx++) {
      const roll = random.next()
      if (roll < 0.7) {
        const a = random.int(0, ACCOUNTS - 1)
        const b = (a + random.int(1, ACCOUNTS - 1)) % ACCOUNTS
        await transfer(db, { tx, from: accountKey(a), to: accountKey(b), amount: random.int(1, 400) })
      } else if (roll < 0.92) await note(db, tx)
      else await poison(db, tx)
    }
    for (let i = 0; i < paddingKeys; i += 100) {
      const batch = db.writeBatch()
      for (let k = i; k < Math.min(paddingKeys, i + 100); k++) batch.put(`pad/${k}`, 'x'.repeat(16 * 1024))
      await batch.commit()
    }
    await ledger.runOnce()
    await db.backupTo(backupDir)
  } finally {
    await db.close()
  }
}
