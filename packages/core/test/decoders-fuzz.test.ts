import { decodeEvent, decodeTypedValue, encodeEnvelope, encodeTypedValue, TypedValue } from '@azothdb/core'
import {
  decodeCbor,
  decodeEnvelopeHeader,
  decodeEnvelopePayload,
  encodeCbor,
  readEventType,
} from '@azothdb/core/internal'
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { envelopeInputArb, typedValueArb } from './arbitraries.js'
import { decodesOrCorruption, propertyTimeout, runs } from './helpers.js'

/** Every decoder of foreign bytes, each of which may only succeed or raise CORRUPTION. */
const decoders: [string, (b: Uint8Array) => unknown][] = [
  ['decodeTypedValue', (b) => decodeTypedValue(b)],
  ['decodeEnvelopeHeader', (b) => decodeEnvelopeHeader(b)],
  ['decodeEvent', (b) => decodeEvent(1, b)],
  ['readEventType', (b) => readEventType(b, 'event 1')],
  ['decodeEnvelopePayload', (b) => decodeEnvelopePayload(b, decodeEnvelopeHeader(b))],
  ['decodeCbor', (b) => decodeCbor(b, 'fuzz')],
]

function feedAll(bytes: Uint8Array): void {
  for (const [, decode] of decoders) decodesOrCorruption(() => decode(bytes))
}

/** A list of edits applied to a valid encoding: flip/set/insert/delete bytes, truncate, extend. */
type Mutation =
  | { op: 'flip'; at: number; bit: number }
  | { op: 'set'; at: number; value: number }
  | { op: 'insert'; at: number; value: number }
  | { op: 'delete'; at: number }
  | { op: 'truncate'; at: number }
  | { op: 'append'; bytes: Uint8Array }

const mutationArb: fc.Arbitrary<Mutation> = fc.oneof(
  fc.record({ op: fc.constant('flip' as const), at: fc.nat(), bit: fc.nat(7) }),
  fc.record({
    op: fc.constant('set' as const),
    at: fc.nat(),
    value: fc.oneof(fc.constantFrom(0x00, 0xff, 0x7f, 0x80, 0x1f, 0x5b, 0x9b, 0xbb, 0xd8, 0xf7), fc.nat(255)),
  }),
  fc.record({ op: fc.constant('insert' as const), at: fc.nat(), value: fc.nat(255) }),
  fc.record({ op: fc.constant('delete' as const), at: fc.nat() }),
  fc.record({ op: fc.constant('truncate' as const), at: fc.nat() }),
  fc.record({ op: fc.constant('append' as const), bytes: fc.uint8Array({ minLength: 1, maxLength: 8 }) }),
)

function mutate(input: Uint8Array, mutations: Mutation[]): Uint8Array {
  let b = Array.from(input)
  for (const m of mutations) {
    const at = b.length === 0 ? 0 : ('at' in m ? m.at : 0) % b.length
    switch (m.op) {
      case 'flip':
        if (b.length > 0) b[at] = b[at]! ^ (1 << m.bit)
        break
      case 'set':
        if (b.length > 0) b[at] = m.value
        break
      case 'insert':
        b.splice(at, 0, m.value)
        break
      case 'delete':
        b.splice(at, 1)
        break
      case 'truncate':
        b = b.slice(0, at)
        break
      case 'append':
        b.push(...m.bytes)
        break
    }
  }
  return new Uint8Array(b)
}

/** Bytes that start like one of our formats, so decoders get past their first checks. */
const plausibleBytes = fc.oneof(
  fc.uint8Array({ maxLength: 80 }),
  // A typed value tag, then anything.
  fc
    .tuple(fc.integer({ min: 0, max: 10 }), fc.uint8Array({ maxLength: 60 }))
    .map(([tag, rest]) => new Uint8Array([tag, ...rest])),
  // A set/array header with a plausible count and member lengths.
  fc
    .tuple(fc.constantFrom(7, 8), fc.array(fc.uint8Array({ maxLength: 6 }), { maxLength: 4 }), fc.nat(6))
    .map(([tag, members, extra]) => {
      const out = [tag, 0, 0, 0, members.length + (extra % 2)]
      for (const m of members) out.push(0, 0, 0, m.length + (extra === 5 ? 1 : 0), ...m)
      return new Uint8Array(out)
    }),
  // An envelope header: version 1, any flags, a timestamp, a short type length, then anything.
  fc
    .tuple(
      fc.nat(8),
      fc.uint8Array({ minLength: 8, maxLength: 8 }),
      fc.nat(20),
      fc.uint8Array({ maxLength: 80 }),
    )
    .map(([flags, ts, typeLength, rest]) => new Uint8Array([1, flags, ...ts, 0, typeLength, ...rest])),
  // CBOR major-type heads with extreme lengths, nested containers, tags.
  fc
    .tuple(
      fc.constantFrom(
        [0x5b, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff],
        [0x7b, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00],
        [0x9b, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff],
        [0x9a, 0xff, 0xff, 0xff, 0xff],
        [0xbb, 0x7f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff],
        [0xba, 0xff, 0xff, 0xff, 0xff],
        [0x5f],
        [0x9f],
        [0xbf],
        [0xd8, 0x1b], // generic object
        [0xd8, 0x1c], // shareable
        [0xd8, 0x1d], // shared reference
        [0xd8, 0x40],
        [0xd8, 0x56], // Float64Array
        [0xd9, 0x01, 0x02], // set
        [0xd9, 0x01, 0x03], // map
        [0xd9, 0xdf, 0xff], // record definition
        [0xd9, 0xe0, 0x00], // record
        [0xda, 0x00, 0x01, 0x00, 0x00],
        [0xc1],
        [0xc2],
        [0xc3],
        [0xc4],
      ),
      fc.uint8Array({ maxLength: 24 }),
    )
    .map(([head, rest]) => new Uint8Array([...head, ...rest])),
)

describe('decoders only ever raise CORRUPTION', propertyTimeout, () => {
  it('on random byte strings', () => {
    fc.assert(fc.property(plausibleBytes, feedAll), { numRuns: runs(3000) })
  })

  it('on random bytes behind a typed-value json tag and an envelope header', () => {
    fc.assert(
      fc.property(plausibleBytes, (b) => {
        feedAll(new Uint8Array([9, ...b]))
        const header = encodeEnvelope({ type: 'T', timestamp: 0, payload: null }).subarray(0, 13)
        feedAll(new Uint8Array([...header, ...b]))
        const withMeta = new Uint8Array([...header, 0, 0, 0, b.length, ...b])
        withMeta[1] = 0b010
        feedAll(withMeta)
      }),
      { numRuns: runs(2000) },
    )
  })

  it('on mutated typed values', () => {
    fc.assert(
      fc.property(typedValueArb, fc.array(mutationArb, { minLength: 1, maxLength: 4 }), (v, muts) => {
        feedAll(mutate(encodeTypedValue(v), muts))
      }),
      { numRuns: runs(2000) },
    )
  })

  it('on mutated envelopes', () => {
    fc.assert(
      fc.property(envelopeInputArb, fc.array(mutationArb, { minLength: 1, maxLength: 4 }), (g, muts) => {
        const bytes = encodeEnvelope({
          type: g.type,
          timestamp: g.timestamp,
          metadata: g.metadata,
          stream: g.stream,
          payload: g.body.payload,
          rawPayload: g.body.rawPayload,
        })
        feedAll(mutate(bytes, muts))
      }),
      { numRuns: runs(2000) },
    )
  })

  it('on hostile CBOR: deep nesting, huge lengths, odd tags', () => {
    const cases: Uint8Array[] = [
      new Uint8Array(200_000).fill(0x81), // [[[[...]]]] deeper than the stack
      new Uint8Array(200_000).fill(0xa1), // {{{...}}}
      new Uint8Array([...new Uint8Array(100_000).fill(0xd8).map((_, i) => (i % 2 ? 0x1c : 0xd8)), 0x01]),
      new Uint8Array([0x9a, 0xff, 0xff, 0xff, 0xff, 0x01]),
      new Uint8Array([0x9b, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01]),
      new Uint8Array([0x5a, 0xff, 0xff, 0xff, 0xff, 0x01]),
      new Uint8Array([0x7a, 0xff, 0xff, 0xff, 0xff, 0x61]),
      new Uint8Array([0xd8, 0x56, 0x43, 0x01, 0x02, 0x03]), // Float64Array of 3 bytes
      new Uint8Array([0xd8, 0x1b, 0x83, 0x66, ...Buffer.from('RegExp'), 0x61, 0x28, 0x60]), // RegExp('(')
      new Uint8Array([0xd8, 0x1d, 0x05]), // reference to a value never shared
      new Uint8Array([0xd9, 0xdf, 0xff, 0x82, 0x01, 0x81, 0x61, 0x61]),
      new Uint8Array([0xd9, 0xe0, 0x00, 0x01]),
      new Uint8Array([0xc1, 0x7b, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff]),
      new Uint8Array([0xc2, 0x5a, 0xff, 0xff, 0xff, 0xff]),
    ]
    for (const c of cases) {
      feedAll(c)
      feedAll(new Uint8Array([9, ...c]))
    }
  })

  it('decoders still work after they have seen garbage', () => {
    fc.assert(
      fc.property(plausibleBytes, typedValueArb, (garbage, v) => {
        feedAll(garbage)
        feedAll(new Uint8Array([9, ...garbage]))
        expect(decodeTypedValue(encodeTypedValue(v)).equals(v)).toBe(true)
        expect(decodeCbor(encodeCbor({ a: [1, 'b'] }), 'check')).toEqual({ a: [1, 'b'] })
      }),
      { numRuns: runs(500) },
    )
  })

  it('a decoded json value never depends on what was decoded before', () => {
    // Record definitions (cbor-x tags 0xdf00..) must not leak from one decode into the next.
    const record = new Uint8Array([0xd9, 0xe0, 0x00, 0x01])
    const before = (() => {
      try {
        return { value: decodeCbor(record, 'r') }
      } catch {
        return { error: true }
      }
    })()
    decodesOrCorruption(() =>
      decodeCbor(new Uint8Array([0xd9, 0xdf, 0xff, 0x82, 0x00, 0x81, 0x61, 0x61]), 'd'),
    )
    decodesOrCorruption(() =>
      decodeCbor(new Uint8Array([0xd9, 0xe0, 0x00, 0x82, 0x00, 0x81, 0x61, 0x61]), 'd'),
    )
    const after = (() => {
      try {
        return { value: decodeCbor(record, 'r') }
      } catch {
        return { error: true }
      }
    })()
    expect(after).toEqual(before)
    expect(decodeTypedValue(encodeTypedValue(TypedValue.json({ x: 1 }))).asJson()).toEqual({ x: 1 })
  })
})
