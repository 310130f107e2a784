import { decodeEvent, encodeEnvelope, encodeTypedValue, isAzothError, TypedValue } from '@azothdb/core'
import { canonicalize, decodeCbor, encodeCbor } from '@azothdb/core/internal'
import { describe, expect, it } from 'vitest'
import { expectAzothError } from './helpers.js'

describe('CBOR helpers', () => {
  it('results of consecutive encodes stay intact', () => {
    const values = Array.from({ length: 2000 }, (_, i) => ({ i, s: 'x'.repeat(i % 50) }))
    const encoded = values.map((v) => encodeCbor(v))
    encoded.forEach((bytes, i) => {
      expect(decodeCbor(bytes, 'check')).toEqual(values[i])
    })
  })

  it('writes plain CBOR, without cbor-x records', () => {
    // {a: 1} as a CBOR map with a text key; no 0xd9df.. record tags.
    expect(Buffer.from(encodeCbor({ a: 1 })).toString('hex')).toBe('a1616101')
    expect(Buffer.from(encodeCbor([{ a: 1 }, { a: 2 }])).toString('hex')).toBe('82a1616101a1616102')
  })

  it('names where malformed CBOR was found', () => {
    const e = expectAzothError(() => decodeCbor(new Uint8Array([0x1c]), 'payload of event 9'), 'CORRUPTION')
    expect(e.message).toContain('payload of event 9')
    expect(e.details).toEqual({ where: 'payload of event 9' })
    expect(e.cause).toBeDefined()
  })

  it('canonicalize sorts object keys deeply and leaves other values alone', () => {
    const v = canonicalize({ b: [{ d: 1, c: 2 }], a: null }) as Record<string, unknown>
    expect(Object.keys(v)).toEqual(['a', 'b'])
    expect(Object.keys((v['b'] as Record<string, unknown>[])[0]!)).toEqual(['c', 'd'])
    const bytes = new Uint8Array([1])
    expect(canonicalize(bytes)).toBe(bytes)
    const date = new Date(0)
    expect(canonicalize(date)).toBe(date)
    expect(canonicalize('s')).toBe('s')
    const m = canonicalize(
      new Map([
        ['b', 1],
        ['a', 2],
      ]),
    ) as Map<string, number>
    expect([...m.keys()]).toEqual(['a', 'b'])
  })

  it('canonicalize keeps an own __proto__ key as an own key, in its sorted place', () => {
    const [sorted] = canonicalize(JSON.parse('[{"z": 1, "__proto__": {"b": 2, "a": 3}}]')) as [object]
    expect(Object.getPrototypeOf(sorted)).toBe(Object.prototype)
    expect(Object.getOwnPropertyNames(sorted)).toEqual(['__proto__', 'z'])
    const inner = Object.getOwnPropertyDescriptor(sorted, '__proto__')!.value as object
    expect(Object.getOwnPropertyNames(inner)).toEqual(['a', 'b'])
  })
})

describe('unencodable values raise INVALID_ARGUMENT, never a crash', () => {
  const cyclic: Record<string, unknown> = { a: 1 }
  cyclic['self'] = cyclic

  it('in a typed json value', () => {
    expectAzothError(() => encodeTypedValue(TypedValue.json(cyclic)), 'INVALID_ARGUMENT')
    expectAzothError(() => encodeTypedValue(TypedValue.json([Symbol('s')])), 'INVALID_ARGUMENT')
  })

  it('in an event payload or metadata', () => {
    expectAzothError(() => encodeEnvelope({ type: 'T', timestamp: 0, payload: cyclic }), 'INVALID_ARGUMENT')
    expectAzothError(
      () => encodeEnvelope({ type: 'T', timestamp: 0, payload: 1, metadata: { cyclic } }),
      'INVALID_ARGUMENT',
    )
  })
})

describe('decoded values own their bytes', () => {
  it('byte strings decoded from one payload survive decoding the next', () => {
    const first = decodeCbor(encodeCbor({ blob: new Uint8Array([1, 2, 3, 4]) }), 'test') as {
      blob: Uint8Array
    }
    decodeCbor(encodeCbor({ blob: new Uint8Array([9, 9, 9, 9]) }), 'test')
    expect([...first.blob]).toEqual([1, 2, 3, 4])
  })

  it('decodes the same bytes whatever the size, below and above the scratch buffer', () => {
    for (const size of [1, 100, 5000, 70_000, 200_000]) {
      const value = { s: 'x'.repeat(size), n: size }
      expect(decodeCbor(encodeCbor(value), 'test')).toEqual(value)
    }
  })
})

describe('a value whose code encodes another value while it is encoded (a getter)', () => {
  // The encoder's buffer and position are shared: an encode started inside another one wrote over
  // the outer value's bytes, which then decoded as something else or not at all.
  const nested = (inner: () => unknown) => ({
    before: 'b'.repeat(40),
    get probe() {
      try {
        inner()
        return 'accepted'
      } catch (e) {
        return isAzothError(e) ? e.code : String(e)
      }
    },
    after: [1, 2, 3],
  })
  const expected = { before: 'b'.repeat(40), probe: 'INVALID_ARGUMENT', after: [1, 2, 3] }

  it('is refused; the outer value encodes whole', () => {
    expect(decodeCbor(encodeCbor(nested(() => encodeCbor({ x: 'y'.repeat(30) }))), 'test')).toEqual(expected)
    const envelope = encodeEnvelope({
      type: 'T',
      timestamp: 0,
      payload: nested(() => encodeEnvelope({ type: 'U', timestamp: 0, payload: { x: 1 } })),
      metadata: { correlationId: 'c' },
      stream: { name: 's', version: 3n },
    })
    const event = decodeEvent(1, envelope)
    expect(event.payload).toEqual(expected)
    expect(event.metadata).toEqual({ correlationId: 'c' })
  })

  it('an uncaught refusal fails the outer encode with INVALID_ARGUMENT; the next encodes are whole', () => {
    const throwing = {
      get probe() {
        return encodeCbor({ x: 1 })
      },
    }
    expectAzothError(() => encodeCbor(throwing), 'INVALID_ARGUMENT')
    expectAzothError(() => encodeEnvelope({ type: 'T', timestamp: 0, payload: throwing }), 'INVALID_ARGUMENT')
    expect(decodeCbor(encodeCbor({ a: 'z'.repeat(50) }), 'test')).toEqual({ a: 'z'.repeat(50) })
  })
})
