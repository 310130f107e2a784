import { decodeEvent, isAzothError, type StreamEventInput, type WriteContext } from '@azothdb/core'
import { openLmdbStore } from '@azothdb/store-lmdb'
import { describe, expect, it } from 'vitest'
import { tempDir } from './support/temp-dir.js'

const ev = (n: number) => ({ type: 'T', data: n })

/** The code a rejected commit carries, `raw <error>` for anything not an AzothError, or `ok`. */
const outcome = (r: PromiseSettledResult<unknown>) =>
  r.status === 'fulfilled' ? 'ok' : isAzothError(r.reason) ? r.reason.code : `raw ${String(r.reason)}`

describe('the events of an append are read once', () => {
  it('an events array changed while its events are encoded (a getter of their data): INVALID_ARGUMENT or the events as first read, never a raw error', async () => {
    const store = await openLmdbStore(tempDir(), { limits: { maxTransactionEventBytes: 4096 } })
    // Each list's first event, when encoded, changes the list: shrinks it, replaces a later event
    // by one that is not an event, grows it by a large event.
    const changing = (change: (list: StreamEventInput[]) => void) => {
      const list: StreamEventInput[] = []
      list.push(
        {
          type: 'T',
          data: {
            get n() {
              change(list)
              return 0
            },
          },
        },
        ev(1),
        ev(2),
      )
      return list
    }
    const big = { type: 'T', data: 'x'.repeat(3000) }
    const results = await Promise.allSettled([
      store.commit((tx) =>
        tx.appendToStream(
          'shrunk',
          changing((l) => l.splice(1)),
        ),
      ),
      store.commit((tx) =>
        tx.appendToStream(
          'replaced',
          changing((l) => l.splice(2, 1, null as never)),
        ),
      ),
      store.commit((tx) => {
        tx.appendToStream(
          'grown',
          changing((l) => l.push(big)),
        )
        // The events kept count towards the transaction's total, not one it never kept.
        return tx.appendToStream('grown-2', [big])
      }),
    ])
    expect(results.map(outcome)).toEqual(['INVALID_ARGUMENT', 'INVALID_ARGUMENT', 'ok'])
    expect([...store.streams()]).toEqual([
      { name: 'grown', version: 2n },
      { name: 'grown-2', version: 0n },
    ])
    expect([...store.readStream('grown')].map((r) => decodeEvent(r.id, r.bytes).payload)).toEqual([
      { n: 0 },
      1,
      2,
    ])
    expect((await store.verify()).problems).toEqual([])
    await store.commit((tx) => tx.appendToStream('shrunk', [ev(3)], 'no_stream'))
    await store.close()
  })

  it("an event logged by the data's code while it is encoded counts towards the transaction's limit", async () => {
    const store = await openLmdbStore(tempDir(), { limits: { maxTransactionEventBytes: 4096 } })
    const logging = (tx: WriteContext, size: number) => ({
      type: 'T',
      data: {
        get n() {
          // Raw bytes: an event whose payload is CBOR could not be encoded in here.
          tx.appendRawEvent('logged', new Uint8Array(size))
          return 0
        },
        pad: 'y'.repeat(1500),
      },
    })
    const results = await Promise.allSettled([
      store.commit((tx) => tx.appendToStream('s', [logging(tx, 3000)])),
      store.commit((tx) => tx.appendToStream('s', [logging(tx, 100)])),
    ])
    expect(results.map(outcome)).toEqual(['EVENT_TOO_LARGE', 'ok'])
    // The logged event came first, the stream's event after it.
    expect([...store.events()].map((e) => decodeEvent(e.id, e.bytes).type)).toEqual(['logged', 'T'])
    expect([...store.readStream('s')].map((r) => r.id)).toEqual([2])
    expect((await store.verify()).problems).toEqual([])
    await store.close()
  })
})
