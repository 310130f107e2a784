import { decodeEvent, decodeTypedValue, encodeEnvelope, encodeTypedValue, TypedValue } from '@azothdb/core'
import { decodeCbor, encodeCbor } from '@azothdb/core/internal'
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { protoKeyJsonText as jsonText } from './arbitraries.js'
import { propertyTimeout, runs } from './helpers.js'

// Request bodies arrive through JSON.parse, which keeps keys like '__proto__' as own properties.
// Whatever we store must come back with exactly the same own keys, values and prototypes: `toEqual`
// is not enough (it may not look at an own '__proto__'), so values are compared here by hand.

/** Asserts that `actual` has exactly `expected`'s own keys (in order unless `sorted`), values and prototypes. */
function expectExactly(actual: unknown, expected: unknown, sorted: boolean, path = '$'): void {
  if (expected === null || typeof expected !== 'object') {
    expect(Object.is(actual, expected), `${path}: ${String(actual)} is not ${String(expected)}`).toBe(true)
    return
  }
  expect(actual, path).toBeTypeOf('object')
  expect(actual, path).not.toBeNull()
  expect(Object.getPrototypeOf(actual), `${path}: prototype`).toBe(Object.getPrototypeOf(expected))
  const names = (v: object) => (sorted ? Object.getOwnPropertyNames(v).sort() : Object.getOwnPropertyNames(v))
  expect(names(actual as object), `${path}: own keys`).toEqual(names(expected))
  for (const k of Object.getOwnPropertyNames(expected)) {
    if (Array.isArray(expected) && k === 'length') continue
    const got = Object.getOwnPropertyDescriptor(actual, k)!
    expect(got.enumerable, `${path}.${k}: enumerable`).toBe(true)
    expectExactly(got.value, Object.getOwnPropertyDescriptor(expected, k)!.value, sorted, `${path}.${k}`)
  }
}

describe('payloads with keys like __proto__ round-trip exactly', propertyTimeout, () => {
  it('decodeCbor(encodeCbor(v)) has the same own keys and values, decoded again and again', () => {
    fc.assert(
      fc.property(jsonText, (text) => {
        const value: unknown = JSON.parse(text)
        const bytes = encodeCbor(value)
        // Repeats reach the builders generated for key sequences seen a few times.
        for (let i = 0; i < 4; i++) expectExactly(decodeCbor(bytes, 'test'), value, false)
      }),
      { numRuns: runs(200) },
    )
  })

  it('event payloads and metadata round-trip exactly through the envelope', () => {
    fc.assert(
      fc.property(jsonText, jsonText, (payloadText, metadataText) => {
        const payload: unknown = JSON.parse(payloadText)
        const metadata = JSON.parse(metadataText) as Record<string, unknown>
        const bytes = encodeEnvelope({ type: 'Posted', timestamp: 1, payload, metadata })
        const event = decodeEvent(7, bytes)
        expectExactly(event.payload, payload, false)
        expectExactly(event.metadata, metadata, false)
      }),
      { numRuns: runs(200) },
    )
  })

  it('TypedValue.json keeps every own key (stored in sorted order)', () => {
    fc.assert(
      fc.property(jsonText, (text) => {
        const value: unknown = JSON.parse(text)
        const decoded = decodeTypedValue(encodeTypedValue(TypedValue.json(value))).asJson()
        expectExactly(decoded, value, true)
      }),
      { numRuns: runs(200) },
    )
  })

  it('an own __proto__ key never becomes the prototype, on either decoding path', () => {
    const ascii = JSON.parse('{"__proto__": {"polluted": true}, "a": 1}') as object
    const nonAscii = JSON.parse('{"__proto__": {"polluted": "ä"}, "a": 1}') as object
    for (const value of [ascii, nonAscii]) {
      for (let i = 0; i < 4; i++) {
        const decoded = decodeCbor(encodeCbor(value), 'test') as Record<string, unknown>
        expect(Object.getPrototypeOf(decoded)).toBe(Object.prototype)
        expect(Object.hasOwn(decoded, '__proto__')).toBe(true)
        expect(decoded['polluted']).toBeUndefined()
        expect(({} as Record<string, unknown>)['polluted']).toBeUndefined()
      }
    }
  })

  it('keeps own __proto__ keys of objects inside Sets, Maps and bigger maps', () => {
    const member = JSON.parse('{"__proto__": {"a": "ä"}, "b": 1}') as object
    const wide = JSON.parse(
      `{"__proto__": 0, ${Array.from({ length: 20 }, (_, i) => `"k${i}": ${i}`).join(', ')}}`,
    )
    for (let i = 0; i < 4; i++) {
      const [decoded] = decodeCbor(encodeCbor(new Set([member])), 'test') as Set<unknown>
      expectExactly(decoded, member, false)
      expectExactly(decodeCbor(encodeCbor({ wide }), 'test'), { wide }, false)
    }
  })

  it('a Map stays a Map with its own keys, whatever else the bytes hold', () => {
    // A '__proto__' anywhere in the bytes (a key, a value, a Map key) takes the exact decoding
    // path, which once turned every Map into an object and its number keys into strings.
    const inner = JSON.parse('{"__proto__": {"x": "ä"}, "a": 1}') as object
    const cases: Map<unknown, unknown>[] = [
      new Map<unknown, unknown>([
        ['__proto__', 1],
        ['b', 2],
      ]),
      new Map<unknown, unknown>([
        [1, '__proto__'],
        ['1', 2],
      ]),
      new Map<unknown, unknown>([['a', inner]]),
    ]
    for (const map of cases) {
      for (const value of [map, { m: map }, [inner, map]]) {
        const decoded = decodeCbor(encodeCbor(value), 'test')
        expect(decoded).toStrictEqual(value)
        const decodedMap = (value === map ? decoded : Object.values(decoded as object).at(-1)) as unknown
        expect(decodedMap).toBeInstanceOf(Map)
        expect([...(decodedMap as Map<unknown, unknown>).keys()]).toEqual([...map.keys()])
        for (const [k, v] of map) {
          if (v === inner) expectExactly((decodedMap as Map<unknown, unknown>).get(k), inner, false)
        }
      }
    }
  })

  it('finds a __proto__ key at any offset of small and large payloads', () => {
    // The key search has a skipping loop for short payloads and a native search for long ones.
    for (let pad = 0; pad < 400; pad++) {
      const filler = 'ä'.repeat(pad >> 1) + 'o_t'.repeat(pad & 1)
      for (const text of [
        `{"f":${JSON.stringify(filler)},"__proto__":{"x":"é"}}`,
        `{"__proto__":[${JSON.stringify(filler)}]}`,
        `[${JSON.stringify(filler)},{"__proto__":1}]`,
      ]) {
        const value: unknown = JSON.parse(text)
        expectExactly(decodeCbor(encodeCbor(value), 'test'), value, false)
      }
    }
  })

  it('a value that only looks like a __proto__ key decodes as cbor-x would', () => {
    const value = {
      key: '__proto__',
      bytes: new Uint8Array([0x69, 0x5f]),
      text: 'ä',
      nested: [{ n: 1n << 70n }],
    }
    expectExactly(decodeCbor(encodeCbor(value), 'test'), value, false)
  })
})
