import { Azoth, type ExecuteContext, isAzothError } from 'azothdb'
import { describe, expect, it } from 'vitest'
import { expectCode } from './support/expect-code.js'
import { tempDir } from './support/temp-dir.js'

/** Event data whose getter logs another event while the data is encoded; `seen` gets what the inner call did. */
function loggingData(tx: ExecuteContext, seen: string[], catchIt: boolean) {
  return {
    before: 'b'.repeat(60),
    get inner() {
      try {
        tx.log('Inner', { n: 1 })
        seen.push('accepted')
      } catch (e) {
        seen.push(isAzothError(e) ? e.code : String(e))
        if (!catchIt) throw e
      }
      return 1
    },
    after: [1, 2, 3],
  }
}

describe.each(['lmdb', 'file'] as const)(
  'an event logged while another is encoded (eventLog %s)',
  (eventLog) => {
    it('is refused; the outer event is stored whole, or refused with its transaction', async () => {
      await using db = await Azoth.open(tempDir(), { eventLog })
      const seen: string[] = []
      await db
        .transaction()
        .streams(['s-1'])
        .execute((tx) => {
          tx.log('Outer', loggingData(tx, seen, true))
          tx.appendToStream('s-1', [{ type: 'InStream', data: loggingData(tx, seen, true) }])
        })
      await expectCode(
        db.transaction().execute((tx) => tx.log('Outer', loggingData(tx, seen, false))),
        'INVALID_ARGUMENT',
      )
      expect(seen).toEqual(['INVALID_ARGUMENT', 'INVALID_ARGUMENT', 'INVALID_ARGUMENT'])
      const whole = { before: 'b'.repeat(60), inner: 1, after: [1, 2, 3] }
      expect([...db.events()].map((e) => [e.type, e.payload])).toEqual([
        ['Outer', whole],
        ['InStream', whole],
      ])
      expect((await db.readStream('s-1')).events.map((e) => e.payload)).toEqual([whole])
      expect((await db.verify()).ok).toBe(true)
    })
  },
)
