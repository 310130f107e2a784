import { bytesEqual, type ProblemList, toError } from '@azothdb/core/internal'
import type { Database } from 'lmdb'
import { decodeOrder, decodeRecord } from './idempotency-records.js'

/** Entries checked between two yields to the event loop. */
const SLICE = 4096

/**
 * Checks every entry of the idempotency table (checksum and layout), in slices between which
 * commits go on; `nextSlice` yields and raises `CLOSED` when the store closed meanwhile. Returns how
 * many entries were checked.
 */
export async function verifyIdempotency(
  db: Database<Uint8Array, Uint8Array> | undefined,
  problems: ProblemList,
  nextSlice: () => Promise<void>,
): Promise<number> {
  if (db === undefined) return 0
  let checked = 0
  let after: Buffer | undefined
  for (;;) {
    let inSlice = 0
    try {
      db.resetReadTxn()
      for (const { key, value } of db.getRange(after === undefined ? {} : { start: after })) {
        if (after !== undefined && inSlice === 0 && bytesEqual(key, after)) continue
        try {
          if (key[0] === 0) decodeOrder(key, value)
          else decodeRecord(key, value)
        } catch (e) {
          problems.add({
            kind: 'idempotency',
            where: `idempotency entry ${Buffer.from(key).toString('hex')}`,
            detail: toError(e).message,
          })
        }
        checked++
        after = Buffer.from(key)
        if (++inSlice >= SLICE) break
      }
    } catch (e) {
      problems.add({
        kind: 'unreadable',
        where: 'idempotency',
        detail: `LMDB cannot walk the idempotency table further: ${toError(e).message}`,
      })
      return checked
    }
    if (inSlice < SLICE) return checked
    await nextSlice()
  }
}
