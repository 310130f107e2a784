import { type AzothEvent, decodeEvent, type EnvelopeInput, encodeEnvelope } from '@azothdb/core'
import {
  decodeEnvelopeHeader,
  decodeEnvelopePayload,
  ENVELOPE_FORMAT_VERSION,
  MAX_EVENT_TYPE_BYTES,
  readEventType,
} from '@azothdb/core/internal'
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { envelopeInputArb } from './arbitraries.js'
import { expectAzothError, hex, propertyTimeout, runs } from './helpers.js'

type Generated = typeof envelopeInputArb extends fc.Arbitrary<infer T> ? T : never

function toInput(g: Generated): EnvelopeInput {
  return {
    type: g.type,
    timestamp: g.timestamp,
    metadata: g.metadata,
    stream: g.stream,
    payload: g.body.payload,
    rawPayload: g.body.rawPayload,
  }
}

function expectSameEvent(event: AzothEvent, input: EnvelopeInput): void {
  expect(event.type).toBe(input.type)
  expect(event.timestamp).toBe(input.timestamp)
  expect(event.metadata).toEqual(input.metadata)
  expect(event.stream).toEqual(input.stream)
  expect(event.payload).toEqual(input.payload)
}

describe('event envelope round-trips', propertyTimeout, () => {
  it('any envelope round-trips through decodeEvent, the header and readEventType', () => {
    fc.assert(
      fc.property(envelopeInputArb, fc.maxSafeNat(), (g, id) => {
        const input = toInput(g)
        const bytes = encodeEnvelope(input)
        const event = decodeEvent(id, bytes)
        expect(event.id).toBe(id)
        expectSameEvent(event, input)

        const header = decodeEnvelopeHeader(bytes)
        expect(header.version).toBe(ENVELOPE_FORMAT_VERSION)
        expect(header.type).toBe(input.type)
        expect(header.rawPayload).toBe(input.rawPayload)
        expect(decodeEnvelopePayload(bytes, header)).toEqual(input.payload)
        if (input.rawPayload) expect(bytes.subarray(header.payloadOffset)).toEqual(input.payload)

        expect(readEventType(bytes)).toBe(input.type)
      }),
      { numRuns: runs(400) },
    )
  })

  it('equal inputs give equal bytes: a deep copy, and a decoded event encoded again', () => {
    // Map keys keep their insertion order (CBOR maps are ordered), so "equal" here means equal
    // with the same key order: what replaying the same transactions produces.
    fc.assert(
      fc.property(envelopeInputArb, (g) => {
        const input = toInput(g)
        const bytes = encodeEnvelope(input)
        expect(hex(encodeEnvelope(structuredClone(input)))).toBe(hex(bytes))
        const event = decodeEvent(1, bytes)
        const again = encodeEnvelope({
          type: event.type,
          timestamp: event.timestamp,
          metadata: event.metadata,
          stream: event.stream,
          payload: event.payload,
          rawPayload: input.rawPayload,
        })
        expect(hex(again)).toBe(hex(bytes))
      }),
      { numRuns: runs(400) },
    )
  })

  it.each(
    [false, true].flatMap((raw) =>
      [false, true].flatMap((meta) => [false, true].map((stream) => ({ raw, meta, stream }))),
    ),
  )('round-trips with raw=$raw metadata=$meta stream=$stream', ({ raw, meta, stream }) => {
    const input: EnvelopeInput = {
      type: 'Thing.Happened',
      timestamp: 1_700_000_000_123,
      metadata: meta ? { correlationId: 'c-1', causationId: 'c-0', tenant: 7 } : undefined,
      stream: stream ? { name: 'order-42', version: 3n } : undefined,
      payload: raw ? new Uint8Array([0, 1, 2, 255]) : { amount: 12.5, items: ['a', 'b'], when: null },
      rawPayload: raw,
    }
    const bytes = encodeEnvelope(input)
    expect(bytes[1]).toBe((raw ? 1 : 0) | (meta ? 2 : 0) | (stream ? 4 : 0))
    expectSameEvent(decodeEvent(99, bytes), input)
    expect(readEventType(bytes)).toBe('Thing.Happened')
  })

  it('readEventType never looks at metadata or payload', () => {
    fc.assert(
      fc.property(envelopeInputArb, fc.uint8Array({ minLength: 1, maxLength: 40 }), (g, garbage) => {
        const input = toInput(g)
        const bytes = encodeEnvelope(input)
        const typeEnd = 12 + Buffer.byteLength(input.type, 'utf8')
        // Overwrite everything after the type (stream, metadata, payload) with garbage...
        const damaged = new Uint8Array(typeEnd + garbage.length)
        damaged.set(bytes.subarray(0, typeEnd))
        damaged.set(garbage, typeEnd)
        expect(readEventType(damaged)).toBe(input.type)
        // ...or cut it off altogether.
        expect(readEventType(bytes.subarray(0, typeEnd))).toBe(input.type)
      }),
      { numRuns: runs(300) },
    )
  })

  it('the header decodes without touching a broken payload', () => {
    const bytes = encodeEnvelope({
      type: 'T',
      timestamp: 5,
      metadata: { correlationId: 'c' },
      payload: { ok: true },
    })
    const header = decodeEnvelopeHeader(bytes)
    const broken = new Uint8Array(bytes)
    broken.fill(0xff, header.payloadOffset) // 0xff alone is a CBOR "break": malformed
    expect(decodeEnvelopeHeader(broken)).toEqual(header)
    expect(readEventType(broken)).toBe('T')
    const e = expectAzothError(() => decodeEvent(42, broken), 'CORRUPTION')
    expect(e.message).toContain('event 42')
  })

  it('writes the documented layout', () => {
    const plain = encodeEnvelope({ type: 'Ab', timestamp: 0x0102030405, payload: 7 })
    // version 1, flags 0, u64 timestamp, u16 type length, type, CBOR payload (7 = 0x07)
    expect(hex(plain)).toBe('0100' + '0000000102030405' + '0002' + '4162' + '07')

    const raw = encodeEnvelope({ type: 'A', timestamp: 1, payload: new Uint8Array([9]), rawPayload: true })
    expect(hex(raw)).toBe('0101' + '0000000000000001' + '0001' + '41' + '09')

    const full = encodeEnvelope({
      type: 'A',
      timestamp: 1,
      stream: { name: 's', version: 3n },
      metadata: { c: 1 },
      payload: null,
    })
    // flags: stream 0b100 | metadata 0b010; stream: u16 name length, name, u64 version;
    // metadata: u32 length, CBOR map {c: 1}; then the payload (null = 0xf6).
    expect(hex(full)).toBe(
      '0106' +
        '0000000000000001' +
        '0001' +
        '41' +
        '0001' +
        '73' +
        '0000000000000003' +
        '00000004' +
        'a16163' +
        '01' +
        'f6',
    )
    expect(decodeEnvelopeHeader(full).payloadOffset).toBe(full.length - 1)
  })

  it('a raw payload may be empty and is returned as bytes', () => {
    const bytes = encodeEnvelope({ type: 'x', timestamp: 0, payload: new Uint8Array(0), rawPayload: true })
    expect(decodeEvent(1, bytes).payload).toEqual(new Uint8Array(0))
  })

  it('a Uint8Array payload without rawPayload is CBOR-encoded and comes back as bytes', () => {
    const bytes = encodeEnvelope({ type: 'x', timestamp: 0, payload: new Uint8Array([1, 2]) })
    expect(decodeEnvelopeHeader(bytes).rawPayload).toBe(false)
    expect(decodeEvent(1, bytes).payload).toEqual(new Uint8Array([1, 2]))
  })

  it('decodes from a view into a larger buffer', () => {
    const inner = encodeEnvelope({ type: 'T', timestamp: 9, metadata: { a: 'b' }, payload: [1, 'two'] })
    const big = new Uint8Array(inner.length + 7)
    big.set(inner, 3)
    const view = big.subarray(3, 3 + inner.length)
    expect(decodeEvent(1, view).payload).toEqual([1, 'two'])
    expect(decodeEvent(1, view).metadata).toEqual({ a: 'b' })
    expect(readEventType(view)).toBe('T')
  })

  it('reads every type right from a Buffer the caller overwrites in place', () => {
    // Cached types must not keep a view of the caller's bytes (a Buffer's slice is one): a later
    // type written over them would then match the cached bytes and come back as the old type.
    const buffer = Buffer.from(encodeEnvelope({ type: 'AAAA', timestamp: 1, payload: 0 }))
    for (let i = 0; i < 26 ** 3; i++) {
      const type = `A${letters(i)}`
      buffer.write(type, 12, 'latin1')
      expect(readEventType(buffer)).toBe(type)
      expect(decodeEvent(1, buffer).type).toBe(type)
    }
  })
})

describe('stream references read right in any order', propertyTimeout, () => {
  // Names of one length that differ in one byte, non-ASCII, and longer than a kept name; versions
  // on both sides of the shared small BigInts, of 2^32 and of 2^53.
  const nameArb = fc.oneof(
    fc.constantFrom(
      'acct-1',
      'acct-2',
      'acct-10',
      'ácct-1',
      'y'.repeat(64),
      'y'.repeat(65),
      'y'.repeat(63) + 'z',
    ),
    fc.string({ unit: 'binary', minLength: 1, maxLength: 70 }),
  )
  const versionArb = fc.oneof(
    fc.constantFrom(0n, 1n, 1_023n, 1_024n, 1n << 32n, (1n << 53n) - 1n, 1n << 53n, (1n << 64n) - 1n),
    fc.bigInt({ min: 0n, max: 2_048n }),
    fc.bigInt({ min: 0n, max: (1n << 64n) - 1n }),
  )

  it('runs of one stream, alternating streams and repeated versions all decode to what was written', () => {
    fc.assert(
      fc.property(fc.array(fc.record({ name: nameArb, version: versionArb }), { maxLength: 40 }), (refs) => {
        for (const stream of refs) {
          const bytes = encodeEnvelope({ type: 'T', timestamp: 1, stream, payload: 0 })
          expect(decodeEvent(1, bytes).stream).toEqual(stream)
          expect(decodeEnvelopeHeader(bytes).stream).toEqual(stream)
        }
      }),
      { numRuns: runs(300) },
    )
  })

  it('reads every stream name right from a Buffer the caller overwrites in place', () => {
    // The last name read is kept with its bytes: a copy, or a name written over them would match
    // and come back as the old one.
    const buffer = Buffer.from(
      encodeEnvelope({ type: 'T', timestamp: 1, stream: { name: 'sAAA', version: 7n }, payload: 0 }),
    )
    for (let i = 0; i < 26 ** 3; i++) {
      const name = `s${letters(i)}`
      buffer.write(name, 15, 'latin1')
      expect(decodeEvent(1, buffer).stream).toEqual({ name, version: 7n })
    }
  })
})

/** Three letters for 0 <= i < 26^3. */
function letters(i: number): string {
  const a = (n: number): string => String.fromCharCode(65 + (n % 26))
  return a(Math.floor(i / 676)) + a(Math.floor(i / 26)) + a(i)
}

describe('encodeEnvelope rejects bad input with INVALID_ARGUMENT', () => {
  const ok: EnvelopeInput = { type: 'T', timestamp: 0, payload: null }
  it.each([
    ['an empty type', { ...ok, type: '' }],
    ['a type that is not a string', { ...ok, type: 3 as unknown as string }],
    ['a type over the limit', { ...ok, type: 'x'.repeat(MAX_EVENT_TYPE_BYTES + 1) }],
    ['a type over the limit in UTF-8 bytes', { ...ok, type: 'é'.repeat(129) }],
    ['a type with a lone surrogate', { ...ok, type: 'a\uD800' }],
    ['a negative timestamp', { ...ok, timestamp: -1 }],
    ['a fractional timestamp', { ...ok, timestamp: 1.5 }],
    ['an unsafe timestamp', { ...ok, timestamp: 2 ** 53 }],
    ['a NaN timestamp', { ...ok, timestamp: Number.NaN }],
    ['a raw payload that is not bytes', { ...ok, payload: 'x', rawPayload: true }],
    ['a payload CBOR cannot encode', { ...ok, payload: { f: () => 1 } }],
    ['metadata CBOR cannot encode', { ...ok, metadata: { f: Symbol('x') } }],
    ['metadata that is not an object', { ...ok, metadata: 'x' as unknown as object }],
    ['metadata that is an array', { ...ok, metadata: [] as unknown as object }],
    ['metadata that is null', { ...ok, metadata: null as unknown as object }],
    ['a negative stream version', { ...ok, stream: { name: 's', version: -1n } }],
    ['a stream version over u64', { ...ok, stream: { name: 's', version: 1n << 64n } }],
    ['a number stream version', { ...ok, stream: { name: 's', version: 1 as unknown as bigint } }],
    ['an empty stream name', { ...ok, stream: { name: '', version: 0n } }],
    ['a stream name over 65535 bytes', { ...ok, stream: { name: 'x'.repeat(65536), version: 0n } }],
    ['a stream name with a lone surrogate', { ...ok, stream: { name: '\uDC00', version: 0n } }],
    ['a stream name that is not a string', { ...ok, stream: { name: 5 as unknown as string, version: 0n } }],
  ] as [string, EnvelopeInput][])('%s', (_name, input) => {
    expectAzothError(() => encodeEnvelope(input), 'INVALID_ARGUMENT')
  })

  it('accepts the longest type', () => {
    const type = '😀'.repeat(MAX_EVENT_TYPE_BYTES / 4)
    expect(readEventType(encodeEnvelope({ ...ok, type }))).toBe(type)
  })
})

describe('envelope decoders raise CORRUPTION naming where', () => {
  const good = encodeEnvelope({
    type: 'T',
    timestamp: 1,
    metadata: { m: 1 },
    stream: { name: 's', version: 2n },
    payload: 'p',
  })
  const withByte = (at: number, value: number) => {
    const b = new Uint8Array(good)
    b[at] = value
    return b
  }
  it.each([
    ['an empty buffer', new Uint8Array(0)],
    ['a short header', good.subarray(0, 11)],
    ['format version 0', withByte(0, 0)],
    ['a future format version', withByte(0, ENVELOPE_FORMAT_VERSION + 1)],
    ['unknown flags', withByte(1, 0x08)],
    ['a zero type length', withByte(11, 0)],
    ['a type length past the end', withByte(11, 200)],
    ['a type length over the limit', withByte(10, 0x01)],
    ['a type that is not UTF-8', withByte(12, 0xff)],
  ])('%s', (_name, bytes) => {
    for (const decode of [
      () => readEventType(bytes, 'event 7'),
      () => decodeEnvelopeHeader(bytes, 'event 7'),
      () => decodeEvent(7, bytes),
    ]) {
      const e = expectAzothError(decode, 'CORRUPTION')
      expect(e.message).toContain('event 7')
      expect(e.details).toMatchObject({ where: 'event 7' })
    }
  })

  it.each([
    ['a timestamp beyond safe integers', withByte(2, 0xff)],
    ['a truncated stream', good.subarray(0, 15)],
    ['an empty stream name', withByte(14, 0)],
    ['a stream name that is not UTF-8', withByte(15, 0xc3)],
    ['a truncated metadata length', good.subarray(0, 26)],
    ['a metadata length past the end', withByte(24, 0xff)],
    ['metadata that is not CBOR', withByte(28, 0x1c)],
    ['an empty CBOR payload', good.subarray(0, good.length - 2)],
  ])('%s', (_name, bytes) => {
    expectAzothError(() => decodeEvent(7, bytes), 'CORRUPTION')
  })

  it('metadata must decode to a map', () => {
    // Same header, metadata replaced by the CBOR array [1].
    const b = encodeEnvelope({ type: 'T', timestamp: 1, metadata: { m: 1 }, payload: 0 })
    const at = 12 + 1 + 4
    expect(hex(b.subarray(at, at + 4))).toBe('a1616d01')
    const patched = new Uint8Array(b)
    patched.set([0x83, 0x01, 0x02, 0x03], at)
    expectAzothError(() => decodeEnvelopeHeader(patched), 'CORRUPTION')
  })
})
