import { decodeEvent, decodeTypedValue, isAzothError } from '@azothdb/core'
import {
  decodeCbor,
  decodeEnvelopeHeader,
  decodeEnvelopePayload,
  readEventType,
} from '@azothdb/core/internal'
import fc from 'fast-check'

// What the decoder fuzz tests feed: every decoder of foreign bytes, mutations of valid encodings,
// and bytes shaped like our formats. Shared with the child process that fuzzes out of process.

/** Runs a decoder: it may return anything or raise CORRUPTION; anything else is rethrown, wrapped. */
export function decodesOrCorruption(fn: () => unknown): void {
  try {
    fn()
  } catch (e) {
    if (!isAzothError(e, 'CORRUPTION')) {
      throw new Error(`decoder raised something other than CORRUPTION: ${String(e)}`, { cause: e })
    }
  }
}

/** Every decoder of foreign bytes, each of which may only succeed or raise CORRUPTION. */
export const decoders: [string, (b: Uint8Array) => unknown][] = [
  ['decodeTypedValue', (b) => decodeTypedValue(b)],
  ['decodeEnvelopeHeader', (b) => decodeEnvelopeHeader(b)],
  ['decodeEvent', (b) => decodeEvent(1, b)],
  ['readEventType', (b) => readEventType(b, 'event 1')],
  ['decodeEnvelopePayload', (b) => decodeEnvelopePayload(b, decodeEnvelopeHeader(b))],
  ['decodeCbor', (b) => decodeCbor(b, 'fuzz')],
]

export function feedAll(bytes: Uint8Array): void {
  for (const [, decode] of decoders) decodesOrCorruption(() => decode(bytes))
}

/** A list of edits applied to a valid encoding: flip/set/insert/delete bytes, truncate, extend. */
export type Mutation =
  | { op: 'flip'; at: number; bit: number }
  | { op: 'set'; at: number; value: number }
  | { op: 'insert'; at: number; value: number }
  | { op: 'delete'; at: number }
  | { op: 'truncate'; at: number }
  | { op: 'append'; bytes: Uint8Array }

export const mutationArb: fc.Arbitrary<Mutation> = fc.oneof(
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

export function mutate(input: Uint8Array, mutations: Mutation[]): Uint8Array {
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
export const plausibleBytes = fc.oneof(
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
