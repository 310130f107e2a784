import { isDeepStrictEqual } from 'node:util'
import { Decoder, Tag } from 'cbor-x'
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { runTypeScript } from '../../../vitest.shared.js'
import { decodeCbor, encodeCbor } from '../src/internal.js'
import { propertyTimeout } from './helpers.js'

// The reference: cbor-x alone, with the options core decodes with. It renames a key '__proto__' to
// '__proto_' where core keeps it (exact round trips are tested in exact-round-trip.test.ts), so
// core's results are compared after the same renaming.
const cborX = new Decoder({ useRecords: false, mapsAsObjects: true, copyBuffers: true })

/** `v` with every own '__proto__' key renamed as cbor-x renames it, entries assigned in order. */
function renamedLikeCborX(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(renamedLikeCborX)
  // cbor-x renames inside the values of tags it does not know, too (a damaged byte can make one),
  // and inside Sets (tag 258) and Maps (tag 259), whose own keys it keeps: a Map key is no property.
  if (v instanceof Tag) return new Tag(renamedLikeCborX(v.value), v.tag)
  if (v instanceof Set) return new Set([...v].map(renamedLikeCborX))
  if (v instanceof Map) return new Map([...v].map(([k, x]) => [renamedLikeCborX(k), renamedLikeCborX(x)]))
  if (!isPlainObject(v)) return v
  const out: Record<string, unknown> = {}
  for (const k of Object.keys(v)) out[k === '__proto__' ? '__proto_' : k] = renamedLikeCborX(v[k])
  return out
}

type Outcome = { ok: true; value: unknown } | { ok: false }

function outcome(decode: () => unknown): Outcome {
  try {
    return { ok: true, value: decode() }
  } catch {
    return { ok: false }
  }
}

/** decodeCbor (fast path, then cbor-x) and cbor-x alone agree: the same value, or both refuse. */
function agree(bytes: Uint8Array): void {
  const ours = outcome(() => renamedLikeCborX(decodeCbor(bytes, 'test')))
  const theirs = outcome(() => cborX.decode(bytes))
  expect(ours.ok).toBe(theirs.ok)
  if (ours.ok && theirs.ok && !same(ours.value, theirs.value)) {
    expect(ours.value).toStrictEqual(theirs.value) // fails, with a readable diff
    throw new Error(`-0 or another Object.is difference: ${Buffer.from(bytes).toString('hex')}`)
  }
}

/**
 * Deep equality that tells -0 from 0 and treats two invalid dates (tag 1 of junk) as equal, also
 * inside tags cbor-x does not know (a `Tag` wrapping an invalid date), Sets and Maps.
 */
function same(a: unknown, b: unknown): boolean {
  if (a instanceof Date && b instanceof Date) return String(a) === String(b)
  if (a instanceof Tag && b instanceof Tag) return a.tag === b.tag && same(a.value, b.value)
  // Members and entries in decoding order, which both decoders follow.
  if ((a instanceof Set && b instanceof Set) || (a instanceof Map && b instanceof Map))
    return same([...a], [...b])
  if (Array.isArray(a) && Array.isArray(b)) return a.length === b.length && a.every((x, i) => same(x, b[i]))
  if (isPlainObject(a) && isPlainObject(b)) {
    const ka = Object.keys(a)
    return isDeepStrictEqual(ka, Object.keys(b)) && ka.every((k) => same(a[k], b[k]))
  }
  return isDeepStrictEqual(a, b)
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === 'object' && Object.getPrototypeOf(v) === Object.prototype
}

const key = fc.oneof(
  fc.constantFrom('account', 'amount', 'id', '__proto__', 'constructor', '1', '', 'ключ'),
  fc.string({ maxLength: 30 }),
)
const scalar = fc.oneof(
  fc.integer(),
  fc.integer({ min: -(2 ** 33), max: 2 ** 33 }),
  fc.constantFrom(0, -0, 23, 24, 255, 256, 65_535, 65_536, 2 ** 32 - 1, 2 ** 32, -(2 ** 32), 2 ** 53 - 1),
  fc.double(),
  fc.float(),
  fc.string({ maxLength: 80 }),
  fc.string({ unit: 'grapheme', maxLength: 10 }),
  fc.boolean(),
  fc.constantFrom(null, undefined),
  fc.bigInt({ min: -(2n ** 70n), max: 2n ** 70n }),
  fc.uint8Array({ maxLength: 8 }),
)
const value = fc.letrec((tie) => ({
  node: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    scalar,
    tie('array'),
    tie('object'),
    tie('set'),
    tie('map'),
  ),
  array: fc.array(tie('node'), { maxLength: 5 }),
  object: fc.dictionary(key, tie('node'), { maxKeys: 5 }),
  set: fc.array(tie('node'), { maxLength: 4 }).map((members) => new Set(members)),
  map: fc
    .array(fc.tuple(fc.oneof(key, scalar), tie('node')), { maxLength: 4 })
    .map((entries) => new Map(entries)),
})).node

describe('plain CBOR fast path', propertyTimeout, () => {
  it('decodes every encoded value exactly as cbor-x does (but for its renaming of __proto__)', () => {
    fc.assert(
      fc.property(value, (v) => agree(encodeCbor(v))),
      { numRuns: 2_000 },
    )
  })

  it('agrees with cbor-x on damaged bytes: the same value or both refuse', () => {
    fc.assert(
      fc.property(value, fc.array(fc.tuple(fc.nat(), fc.nat(255), fc.nat(2))), (v, edits) => {
        const bytes = Array.from(encodeCbor(v))
        for (const [at, byte, kind] of edits) {
          const i = at % (bytes.length + 1)
          if (kind === 0) bytes[Math.min(i, bytes.length - 1)] = byte
          else if (kind === 1) bytes.splice(i, 0, byte)
          else bytes.splice(i, 1)
        }
        agree(Uint8Array.from(bytes))
      }),
      { numRuns: 2_000 },
    )
  })

  it('agrees with cbor-x on random bytes', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 40 }), (bytes) => agree(bytes)),
      { numRuns: 3_000 },
    )
  })

  it('agrees with cbor-x on Sets and Maps (tags 258 and 259) around maps with a __proto__ key', () => {
    // Found by probing every tag: a Map came back as an object, and a Set of a map's entries came
    // back where cbor-x refuses one, whenever the bytes held a '__proto__' key.
    const proto = [0x69, ...Buffer.from('__proto__')]
    const map = [0xa2, ...proto, 0x01, 0x61, 0x62, 0x81, 0x02] // {__proto__: 1, b: [2]}
    for (const tag of [
      [0xd9, 0x01, 0x02],
      [0xd9, 0x01, 0x03],
    ]) {
      agree(Uint8Array.from([...tag, ...map]))
      agree(Uint8Array.from([...tag, 0x82, ...map, 0x61, 0x78])) // over [map, 'x']
      agree(Uint8Array.from([...tag, 0xa1, 0x61, 0x61, ...map])) // over {a: map}
      agree(Uint8Array.from([...tag, 0xa1, 0x01, ...proto])) // over {1: '__proto__'}
    }
  })

  it('reads every key right from a Buffer the caller overwrites in place', () => {
    const buffer = Buffer.from(encodeCbor({ AAAA: 1 }))
    const at = buffer.indexOf('AAAA', 0, 'latin1')
    for (let i = 0; i < 26 ** 3; i++) {
      const key = `K${String.fromCharCode(65 + Math.floor(i / 676), 65 + (Math.floor(i / 26) % 26), 65 + (i % 26))}`
      buffer.write(key, at, 'latin1')
      expect(Object.keys(decodeCbor(buffer, 'test') as object)).toEqual([key])
    }
  })

  it('builds maps of many key sequences, repeated and not, past the bound on kept shapes', () => {
    // Interleaved: a common shape, shapes seen often enough to get a builder, and one-off ones
    // (as in maps keyed by ids), nested, in more sequences than the decoder keeps.
    for (let i = 0; i < 12_000; i++) {
      agree(encodeCbor({ account: `a-${i}`, amount: i }))
      const j = i % 40
      agree(
        encodeCbor({ [`k${j}`]: j, x: [{ [`n${j}`]: null, deep: { [`d${i % 3}`]: true } }], [`z${j}`]: 'v' }),
      )
      agree(encodeCbor({ [`id-${i}`]: { seen: i, [`by-${i}`]: 1 } }))
      // The same keys in another order are another shape; key order is kept.
      agree(encodeCbor(j % 2 === 0 ? { b: 1, a: 2 } : { a: 2, b: 1 }))
    }
    // Keys that are numbers, or look special, in a shape seen enough times to get a builder.
    for (let i = 0; i < 5; i++) agree(encodeCbor({ '1': i, constructor: 'c', toString: 2, 'a"b\\': 3 }))
  })

  it('decodes maps the same where code generation is disallowed', async () => {
    const run = await runTypeScript(new URL('./fixtures/decode-without-codegen.ts', import.meta.url), [], {
      env: { NODE_OPTIONS: '--disallow-code-generation-from-strings' },
    })
    expect(run.stderr).toBe('')
    expect(run.stdout.trim()).toBe('decoded 1000 maps without code generation')
    expect(run.code).toBe(0)
  }, 60_000)

  it('keeps a repeated key cache from mixing up keys that hash alike or change', () => {
    // Many distinct keys through the same few slots: every decode still returns its own keys.
    for (let i = 0; i < 5_000; i++) {
      const v = { [`k${i}`]: i, [`k${i % 7}`]: -i - 1, same: 'x'.repeat(i % 70) }
      expect(decodeCbor(encodeCbor(v), 'test')).toStrictEqual(v)
    }
  })
})
