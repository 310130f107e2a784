import { type AzothEvent, decodeEvent, type EventHandler, encodeEnvelope, isAzothError } from '@azothdb/core'
import type { SqliteTx } from '@azothdb/projection-sqlite'
import { ErrorStrategy, Projector } from '@azothdb/projector'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { type Fixture, makeFixture } from './support/fixture.js'

let f: Fixture
beforeEach(async () => {
  f = await makeFixture()
})
afterEach(async () => {
  await f.cleanup()
})

const versions = new Map<string, bigint>()

/** Appends a stream event (or a plain one when `stream` is undefined) with a CBOR payload. */
function append(stream: string | undefined, type: string, payload: unknown): number {
  const version = versions.get(stream ?? '') ?? 0n
  if (stream !== undefined) versions.set(stream, version + 1n)
  return f.source.appendBytes(
    encodeEnvelope({
      type,
      payload,
      timestamp: 0,
      stream: stream === undefined ? undefined : { name: stream, version },
    }),
  )
}

/**
 * Appends an event whose header is sound and whose payload is not CBOR: decoding it raises
 * CORRUPTION, so a projector that decodes it fails. The filter must leave it undecoded.
 */
function appendPoison(stream: string | undefined, type = 'ItemAdded'): number {
  const bytes = encodeEnvelope({
    type,
    payload: 'poison',
    timestamp: 0,
    stream: stream === undefined ? undefined : { name: stream, version: 0n },
  })
  // The payload is the text 'poison' (one head byte and six letters); 0xff there is a stray "break".
  bytes[bytes.length - 7] = 0xff
  const id = f.source.appendBytes(bytes)
  expect(() => decodeEvent(id, bytes)).toThrow(/malformed CBOR/)
  return id
}

/** A handler of every type that records what it was handed, per event and per batch. */
function recorder(withBatch = false): EventHandler<SqliteTx> & { seen: string[]; batched: string[] } {
  const seen: string[] = []
  const batched: string[] = []
  const label = (e: AzothEvent) => `${e.stream?.name ?? '-'}:${e.type}:${String(e.payload)}`
  return {
    name: 'recorder',
    eventTypes: '*',
    seen,
    batched,
    handle: (e) => void seen.push(label(e)),
    ...(withBatch
      ? { handleBatch: (events: readonly AzothEvent[]) => void batched.push(...events.map(label)) }
      : {}),
  }
}

function mixedLog(): void {
  versions.clear()
  append('cart-1', 'ItemAdded', 'a')
  appendPoison('order-1')
  append(undefined, 'ItemAdded', 'plain')
  append('cart-2', 'ItemRemoved', 'b')
  appendPoison('cart', 'ItemAdded')
  appendPoison('cartx-1')
  append('cart-1', 'ItemRemoved', 'c')
  appendPoison(undefined)
}

describe('projector filters (streams, stream prefix, event types), judged without decoding payloads', () => {
  it('streams: only the named streams reach the handlers; the cursor moves past the rest', async () => {
    mixedLog()
    const h = recorder()
    const p = Projector.builder(f.source, f.store)
      .withName('f')
      .withHandler(h)
      .withFilter({ streams: ['cart-1', 'cart-2'] })
      .build()
    const stats = await p.runOnce()
    expect(h.seen).toEqual(['cart-1:ItemAdded:a', 'cart-2:ItemRemoved:b', 'cart-1:ItemRemoved:c'])
    expect(stats).toMatchObject({ cursor: 8, target: 8, events: 8, stoppedBy: 'caughtUp' })
    expect(await f.store.getCursor('f')).toBe(8)
  })

  it('streamPrefix (a category): names that start with it, never plain events', async () => {
    mixedLog()
    const h = recorder(true)
    const p = new Projector({
      source: f.source,
      store: f.store,
      name: 'prefix',
      handlers: [h],
      filter: { streamPrefix: 'cart-' },
      batch: { maxEvents: 3 },
    })
    expect((await p.runOnce()).cursor).toBe(8)
    // A handleBatch handler gets its events in the batch call, the same ones.
    expect(h.batched).toEqual(['cart-1:ItemAdded:a', 'cart-2:ItemRemoved:b', 'cart-1:ItemRemoved:c'])
  })

  it('eventTypes with a prefix: both must hold', async () => {
    mixedLog()
    append('cart-3', 'ItemAdded', 'd')
    const h = recorder()
    const p = new Projector({
      source: f.source,
      store: f.store,
      handlers: [h],
      filter: { eventTypes: ['ItemRemoved'], streamPrefix: 'cart-' },
    })
    await p.runOnce()
    expect(h.seen).toEqual(['cart-2:ItemRemoved:b', 'cart-1:ItemRemoved:c'])
    expect(p.position).toBe(9)
  })

  it('a batch with nothing the filter keeps still moves the cursor', async () => {
    versions.clear()
    for (let i = 0; i < 5; i++) appendPoison(`other-${i}`)
    const h = recorder()
    const p = new Projector({
      source: f.source,
      store: f.store,
      handlers: [h],
      filter: { streams: ['cart-1'] },
      batch: { maxEvents: 2 },
    })
    expect(await p.runOnce()).toMatchObject({ cursor: 5, batches: 3 })
    expect(h.seen).toEqual([])
    append('cart-1', 'ItemAdded', 'late')
    await p.runOnce()
    expect(h.seen).toEqual(['cart-1:ItemAdded:late'])
  })

  it('the event-by-event path (after a failing event) and dead-letter retries filter too', async () => {
    mixedLog()
    const seen: string[] = []
    let failing = true
    const h: EventHandler<SqliteTx> = {
      eventTypes: '*',
      handle: (e) => {
        if (failing && e.payload === 'b') throw new Error('fails on b')
        seen.push(String(e.payload))
      },
    }
    const p = new Projector({
      source: f.source,
      store: f.store,
      handlers: [h],
      filter: { streamPrefix: 'cart-' },
      errorStrategy: ErrorStrategy.deadLetter(),
    })
    expect(await p.runOnce()).toMatchObject({ cursor: 8, deadLettered: 1 })
    // The whole-batch attempt handled 'a' before 'b' failed it (rolled back), then event by event.
    expect(seen).toEqual(['a', 'a', 'c'])
    failing = false
    const [letter] = await p.deadLetters.list()
    expect(letter?.eventId).toBe(4)
    await p.deadLetters.retry(letter!.id)
    expect(seen).toEqual(['a', 'a', 'c', 'b'])
  })

  it('without the filter the same log fails on the first poisoned payload (the poison is real)', async () => {
    mixedLog()
    const p = new Projector({ source: f.source, store: f.store, handlers: [recorder()] })
    const e = await p.runOnce().then(
      () => undefined,
      (err: unknown) => err,
    )
    expect(isAzothError(e, 'PROJECTION_FAILED')).toBe(true)
    expect(isAzothError((e as Error).cause, 'CORRUPTION')).toBe(true)
    expect(await f.store.getCursor('default')).toBe(1)
  })

  it('bad filters are CONFIG when the projector is made', () => {
    const handlers = [recorder()]
    const bad: unknown[] = [
      null,
      'cart-',
      [],
      { streams: 'cart-1' },
      { streams: [''] },
      { streams: [7] },
      { eventTypes: ['ok', ''] },
      { streamPrefix: '' },
      { streamPrefix: 5 },
      { category: 'cart' },
    ]
    for (const filter of bad) {
      let error: unknown
      try {
        new Projector({ source: f.source, store: f.store, handlers, filter: filter as never })
      } catch (e) {
        error = e
      }
      expect(isAzothError(error, 'CONFIG'), JSON.stringify(filter)).toBe(true)
    }
    expect(() =>
      Projector.builder(f.source, f.store)
        .withHandler(recorder())
        .withFilter({ streams: [''] })
        .build(),
    ).toThrow(/streams/)
    // An empty filter filters nothing.
    expect(new Projector({ source: f.source, store: f.store, handlers, filter: {} }).name).toBe('default')
  })
})
