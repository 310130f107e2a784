import { TypedValue } from '@azothdb/core'
import fc from 'fast-check'

export const I64_MIN = -(2n ** 63n)
export const I64_MAX = 2n ** 63n - 1n
export const U256_MAX = 2n ** 256n - 1n

/** Strings over all of Unicode (always well-formed), with some fixed awkward ones mixed in. */
export const unicodeString = fc.oneof(
  { weight: 6, arbitrary: fc.string({ unit: 'binary', maxLength: 40 }) },
  { weight: 1, arbitrary: fc.string({ unit: 'grapheme', maxLength: 20 }) },
  {
    weight: 1,
    arbitrary: fc.constantFrom('', '\0', '\uFEFF', 'é', 'e\u0301', '😀', '\u{10FFFF}', 'a\0b', '\uFFFD'),
  },
)

export const i64Arb = fc.oneof(
  fc.bigInt({ min: I64_MIN, max: I64_MAX }),
  fc.constantFrom(I64_MIN, I64_MAX, 0n, -1n, 1n, -(2n ** 53n), 2n ** 53n),
)

export const u256Arb = fc.oneof(
  fc.bigInt({ min: 0n, max: U256_MAX }),
  fc.bigInt({ min: 0n, max: 2n ** 64n }),
  fc.constantFrom(0n, 1n, U256_MAX, 2n ** 64n - 1n, 2n ** 64n, 2n ** 255n),
)

export const f64Arb = fc.oneof(
  fc.double(),
  fc.constantFrom(
    Number.NaN,
    -0,
    0,
    Number.POSITIVE_INFINITY,
    Number.NEGATIVE_INFINITY,
    Number.MIN_VALUE,
    -Number.MAX_VALUE,
  ),
)

/** Plain JSON (as `JSON.parse` gives, own `__proto__` keys included). */
export const jsonArb = fc.jsonValue({ maxDepth: 4 })

/** Richer CBOR-able values: JSON plus byte arrays, bigints and undefined inside containers. */
export const cborArb: fc.Arbitrary<unknown> = fc.letrec<{ node: unknown }>((tie) => ({
  node: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    fc.oneof(
      unicodeString,
      fc.integer(),
      fc.double({ noNaN: true }).filter((d) => !Object.is(d, -0)),
      fc.boolean(),
      fc.constant(null),
      fc.uint8Array({ maxLength: 16 }),
      fc.bigInt({ min: -(2n ** 100n), max: 2n ** 100n }),
    ),
    fc.array(tie('node'), { maxLength: 5 }),
    fc.dictionary(unicodeString, tie('node'), { maxKeys: 5, noNullPrototype: true }),
  ),
})).node

/** A typed value of any kind. */
export const typedValueArb: fc.Arbitrary<TypedValue> = fc.oneof(
  i64Arb.map((v) => TypedValue.i64(v)),
  u256Arb.map((v) => TypedValue.u256(v)),
  unicodeString.map((v) => TypedValue.string(v)),
  fc.uint8Array({ maxLength: 64 }).map((v) => TypedValue.bytes(v)),
  fc.boolean().map((v) => TypedValue.bool(v)),
  f64Arb.map((v) => TypedValue.f64(v)),
  fc.array(unicodeString, { maxLength: 12 }).map((v) => TypedValue.set(v)),
  fc.array(unicodeString, { maxLength: 12 }).map((v) => TypedValue.array(v)),
  jsonArb.map((v) => TypedValue.json(v)),
  cborArb.filter((v) => v !== undefined).map((v) => TypedValue.json(v)),
)

const utf8Bytes = (s: string) => Buffer.byteLength(s, 'utf8')

/** An event type: 1..256 UTF-8 bytes. */
export const eventTypeArb = fc
  .oneof(
    fc.string({ unit: 'binary', minLength: 1, maxLength: 40 }),
    fc.constantFrom('a', 'OrderPlaced', 'é', '😀', 'x'.repeat(256), 'é'.repeat(128), 'ascii.type.name'),
  )
  .filter((s) => utf8Bytes(s) >= 1 && utf8Bytes(s) <= 256)

/** Metadata: correlation ids and a few extra CBOR-able fields. */
export const metadataArb = fc.record(
  {
    correlationId: unicodeString,
    causationId: unicodeString,
    extra: fc.dictionary(unicodeString, cborArb, { maxKeys: 3, noNullPrototype: true }),
  },
  { requiredKeys: [] },
)

export const streamArb = fc.record({
  name: fc.string({ unit: 'binary', minLength: 1, maxLength: 30 }),
  version: fc.oneof(fc.bigInt({ min: 0n, max: (1n << 64n) - 1n }), fc.constantFrom(0n, (1n << 64n) - 1n)),
})

/** What {@link encodeEnvelope} takes, raw and CBOR payloads alike. */
export const envelopeInputArb = fc.record(
  {
    type: eventTypeArb,
    timestamp: fc.oneof(fc.maxSafeNat(), fc.constantFrom(0, Number.MAX_SAFE_INTEGER, 1_700_000_000_000)),
    metadata: fc.option(metadataArb, { nil: undefined }),
    stream: fc.option(streamArb, { nil: undefined }),
    body: fc.oneof(
      fc.record({ rawPayload: fc.constant(true as const), payload: fc.uint8Array({ maxLength: 64 }) }),
      fc.record({ rawPayload: fc.constant(false as const), payload: cborArb }),
    ),
  },
  { requiredKeys: ['type', 'timestamp', 'body'] },
)

/** Keys that mean something to JavaScript objects, and others. */
const jsKey = fc.oneof(
  { weight: 3, arbitrary: fc.constantFrom('__proto__', 'constructor', 'prototype', '__proto_', 'toString') },
  { weight: 1, arbitrary: fc.constantFrom('a', 'id', 'amount', 'clé', 'ключ') },
  { weight: 1, arbitrary: fc.string({ maxLength: 12 }) },
)
// ASCII scalars stay on the fast path; a non-ASCII or long string sends a whole value to cbor-x.
const jsonScalar = fc.oneof(
  fc.integer(),
  fc.double({ noNaN: true, noDefaultInfinity: true }).filter((d) => !Object.is(d, -0)),
  fc.boolean(),
  fc.constant(null),
  fc.constantFrom('__proto__', 'x', 'ä', 'x'.repeat(70)),
  fc.string({ maxLength: 10 }),
)

/**
 * JSON text of objects keyed by `__proto__`, `constructor`, `prototype` and others (duplicates
 * too), nested: what a request body gives, once through JSON.parse (which keeps them all as own keys).
 */
export const protoKeyJsonText: fc.Arbitrary<string> = fc.letrec<{
  node: string
  object: string
  array: string
}>((tie) => ({
  node: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    jsonScalar.map((v) => JSON.stringify(v)),
    tie('object'),
    tie('array'),
  ),
  // Up to 20 entries: maps of more than 16 keys are built another way by the fast path.
  object: fc
    .array(fc.tuple(jsKey, tie('node')), { maxLength: 20 })
    .map((entries) => `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${v}`).join(',')}}`),
  array: fc.array(tie('node'), { maxLength: 4 }).map((items) => `[${items.join(',')}]`),
})).object
