import { decodeTypedValue, encodeTypedValue, TypedValue as TV, type TypedValue } from '@azothdb/core'
import { bytesEqual, compareUtf8 } from '@azothdb/core/internal'
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { cborArb, f64Arb, i64Arb, jsonArb, typedValueArb, u256Arb, unicodeString } from './arbitraries.js'
import { propertyTimeout, runs } from './helpers.js'

/** JSON semantics of CBOR through cbor-x: -0 is written as the integer 0. */
function withoutNegativeZero(v: unknown): unknown {
  if (Object.is(v, -0)) return 0
  if (Array.isArray(v)) return v.map(withoutNegativeZero)
  if (v !== null && typeof v === 'object' && !(v instanceof Uint8Array)) {
    return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, withoutNegativeZero(x)]))
  }
  return v
}

function expectRoundTrip(v: TypedValue): void {
  const bytes = encodeTypedValue(v)
  const back = decodeTypedValue(bytes)
  expect(back.kind).toBe(v.kind)
  if (v.kind === 'json') expect(back.value).toEqual(withoutNegativeZero(v.value))
  else expect(back.value).toEqual(v.value)
  expect(back.equals(v)).toBe(true)
  // The encoding is canonical: decoding and re-encoding gives the very same bytes.
  expect(bytesEqual(encodeTypedValue(back), bytes)).toBe(true)
}

/** Rebuilds a JSON value with every object's keys inserted in reverse order. */
function reverseKeys(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(reverseKeys)
  if (v !== null && typeof v === 'object' && !(v instanceof Uint8Array)) {
    // defineProperty: an own '__proto__' key stays a key (assignment would set the prototype).
    const out: Record<string, unknown> = {}
    for (const k of Object.keys(v).reverse()) {
      const value = reverseKeys((v as Record<string, unknown>)[k])
      Object.defineProperty(out, k, { value, writable: true, enumerable: true, configurable: true })
    }
    return out
  }
  return v
}

describe('TypedValue codec properties', propertyTimeout, () => {
  it.each([
    ['i64', i64Arb.map((v) => TV.i64(v))],
    ['u256', u256Arb.map((v) => TV.u256(v))],
    ['string', unicodeString.map((v) => TV.string(v))],
    ['bytes', fc.uint8Array({ maxLength: 300 }).map((v) => TV.bytes(v))],
    ['bool', fc.boolean().map((v) => TV.bool(v))],
    ['f64', f64Arb.map((v) => TV.f64(v))],
    ['set', fc.array(unicodeString, { maxLength: 20 }).map((v) => TV.set(v))],
    ['array', fc.array(unicodeString, { maxLength: 20 }).map((v) => TV.array(v))],
    ['json (JSON values)', jsonArb.map((v) => TV.json(v))],
    ['json (CBOR values)', cborArb.filter((v) => v !== undefined).map((v) => TV.json(v))],
  ] as const)('%s round-trips', (_kind, arb: fc.Arbitrary<TypedValue>) => {
    fc.assert(fc.property(arb, expectRoundTrip), { numRuns: runs(300) })
  })

  it('edge values round-trip', () => {
    for (const v of [
      TV.i64(-(2n ** 63n)),
      TV.i64(2n ** 63n - 1n),
      TV.u256(0n),
      TV.u256(2n ** 256n - 1n),
      TV.string(''),
      TV.string('\u{1F600}\u0000\uFEFF'),
      TV.bytes(new Uint8Array(0)),
      TV.set([]),
      TV.set(['']),
      TV.array([]),
      TV.array(['', '']),
      TV.f64(Number.NaN),
      TV.f64(-0),
      TV.f64(Number.NEGATIVE_INFINITY),
      TV.json(null),
      TV.json(''),
      TV.json([]),
      TV.json({}),
      TV.json({ a: [{ b: { c: [1, 'x', null, true, 2.5] } }] }),
    ]) {
      expectRoundTrip(v)
    }
    expect(Object.is(decodeTypedValue(encodeTypedValue(TV.f64(-0))).asF64(), -0)).toBe(true)
  })

  it('any typed value round-trips, and equals() agrees with byte equality', () => {
    fc.assert(
      fc.property(typedValueArb, typedValueArb, (a, b) => {
        expectRoundTrip(a)
        const same = a.kind === b.kind && bytesEqual(encodeTypedValue(a), encodeTypedValue(b))
        expect(a.equals(b)).toBe(same)
        expect(b.equals(a)).toBe(same)
      }),
      { numRuns: runs(300) },
    )
  })

  it('a set gives the same bytes whatever the order and repetition of its members', () => {
    fc.assert(
      fc.property(
        fc
          .uniqueArray(unicodeString, { maxLength: 15 })
          .chain((members) =>
            fc.tuple(
              fc.constant(members),
              fc.shuffledSubarray(members, { minLength: members.length, maxLength: members.length }),
              fc.subarray(members),
            ),
          ),
        ([members, shuffled, repeats]) => {
          const a = TV.set(members)
          const b = TV.set([...repeats, ...shuffled, ...repeats])
          expect(bytesEqual(encodeTypedValue(a), encodeTypedValue(b))).toBe(true)
          expect(a.equals(b)).toBe(true)
          // Members come out sorted by UTF-8 bytes, strictly.
          for (let i = 1; i < a.value.length; i++) {
            expect(compareUtf8(a.value[i - 1]!, a.value[i]!)).toBeLessThan(0)
          }
        },
      ),
      { numRuns: runs(300) },
    )
  })

  it('json objects give the same bytes whatever the insertion order of their keys', () => {
    fc.assert(
      fc.property(jsonArb, (v) => {
        const a = encodeTypedValue(TV.json(v))
        const b = encodeTypedValue(TV.json(reverseKeys(v)))
        expect(bytesEqual(a, b)).toBe(true)
      }),
      { numRuns: runs(300) },
    )
    fc.assert(
      fc.property(
        fc.uniqueArray(fc.tuple(unicodeString, cborArb), { selector: ([k]) => k, maxLength: 8 }),
        (entries) => {
          const forward = Object.fromEntries(entries)
          const backward = Object.fromEntries([...entries].reverse())
          expect(encodeTypedValue(TV.json(forward))).toEqual(encodeTypedValue(TV.json(backward)))
        },
      ),
      { numRuns: runs(200) },
    )
  })

  it('json Sets and Maps give the same bytes whatever their insertion order', () => {
    fc.assert(
      fc.property(
        fc
          .uniqueArray(fc.oneof(unicodeString, fc.integer(), fc.boolean()), { maxLength: 10 })
          .chain((items) =>
            fc.tuple(
              fc.constant(items),
              fc.shuffledSubarray(items, { minLength: items.length, maxLength: items.length }),
            ),
          ),
        ([items, shuffled]) => {
          const a = encodeTypedValue(TV.json({ s: new Set(items) }))
          const b = encodeTypedValue(TV.json({ s: new Set(shuffled) }))
          expect(bytesEqual(a, b)).toBe(true)
          const m1 = new Map(items.map((k, i) => [k, i]))
          const m2 = new Map(shuffled.map((k) => [k, items.indexOf(k)]))
          expect(bytesEqual(encodeTypedValue(TV.json(m1)), encodeTypedValue(TV.json(m2)))).toBe(true)
        },
      ),
      { numRuns: runs(300) },
    )
  })

  it('distinct values of one kind give distinct bytes', () => {
    fc.assert(
      fc.property(i64Arb, i64Arb, (a, b) => {
        const same = bytesEqual(encodeTypedValue(TV.i64(a)), encodeTypedValue(TV.i64(b)))
        expect(same).toBe(a === b)
      }),
      { numRuns: runs(200) },
    )
    fc.assert(
      fc.property(u256Arb, u256Arb, (a, b) => {
        const same = bytesEqual(encodeTypedValue(TV.u256(a)), encodeTypedValue(TV.u256(b)))
        expect(same).toBe(a === b)
      }),
      { numRuns: runs(200) },
    )
    fc.assert(
      fc.property(unicodeString, unicodeString, (a, b) => {
        const same = bytesEqual(encodeTypedValue(TV.string(a)), encodeTypedValue(TV.string(b)))
        expect(same).toBe(a === b)
      }),
      { numRuns: runs(200) },
    )
  })

  it('u256 bytes sort like the numbers (fixed width, big-endian)', () => {
    fc.assert(
      fc.property(u256Arb, u256Arb, (a, b) => {
        const x = Buffer.from(encodeTypedValue(TV.u256(a)))
        const y = Buffer.from(encodeTypedValue(TV.u256(b)))
        expect(x.length).toBe(33)
        expect(Math.sign(Buffer.compare(x, y))).toBe(a < b ? -1 : a > b ? 1 : 0)
      }),
      { numRuns: runs(200) },
    )
  })
})
