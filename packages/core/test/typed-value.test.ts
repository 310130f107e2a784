import {
  AzothError,
  decodeTypedValue,
  encodeTypedValue,
  isAzothError,
  isTypedValue,
  TypedValue,
  type TypedValueKind,
} from '@azothdb/core'
import { TYPED_VALUE_TAGS } from '@azothdb/core/internal'
import { describe, expect, it } from 'vitest'
import { I64_MAX, I64_MIN, U256_MAX } from './arbitraries.js'
import { expectAzothError } from './helpers.js'

/** One value of each kind, and the accessor that reads it. */
const samples: { kind: TypedValueKind; value: TypedValue; accessor: string }[] = [
  { kind: 'i64', value: TypedValue.i64(-5n), accessor: 'asI64' },
  { kind: 'u256', value: TypedValue.u256(7n), accessor: 'asU256' },
  { kind: 'string', value: TypedValue.string('hi'), accessor: 'asString' },
  { kind: 'bytes', value: TypedValue.bytes(new Uint8Array([1, 2])), accessor: 'asBytes' },
  { kind: 'bool', value: TypedValue.bool(true), accessor: 'asBool' },
  { kind: 'f64', value: TypedValue.f64(1.5), accessor: 'asF64' },
  { kind: 'set', value: TypedValue.set(['b', 'a']), accessor: 'asSet' },
  { kind: 'array', value: TypedValue.array(['b', 'a']), accessor: 'asArray' },
  { kind: 'json', value: TypedValue.json({ a: 1 }), accessor: 'asJson' },
]
const accessors = samples.map((s) => s.accessor)

type AccessorName = 'asI64' | 'asU256' | 'asString' | 'asBytes' | 'asBool' | 'asF64' | 'asSet' | 'asArray'
function callAccessor(v: TypedValue, name: string): unknown {
  return (v as unknown as Record<string, () => unknown>)[name as AccessorName]!.call(v)
}

describe('TypedValue constructors', () => {
  it('accept the edges of each integer range', () => {
    expect(TypedValue.i64(I64_MIN).value).toBe(I64_MIN)
    expect(TypedValue.i64(I64_MAX).value).toBe(I64_MAX)
    expect(TypedValue.i64(Number.MAX_SAFE_INTEGER).value).toBe(BigInt(Number.MAX_SAFE_INTEGER))
    expect(TypedValue.i64(-Number.MAX_SAFE_INTEGER).value).toBe(-BigInt(Number.MAX_SAFE_INTEGER))
    expect(TypedValue.u256(0n).value).toBe(0n)
    expect(TypedValue.u256(U256_MAX).value).toBe(U256_MAX)
    expect(TypedValue.u256(42).value).toBe(42n)
  })

  it.each([
    ['i64 above max', () => TypedValue.i64(I64_MAX + 1n)],
    ['i64 below min', () => TypedValue.i64(I64_MIN - 1n)],
    ['i64 from a fraction', () => TypedValue.i64(1.5)],
    ['i64 from an unsafe number', () => TypedValue.i64(2 ** 53)],
    ['i64 from NaN', () => TypedValue.i64(Number.NaN)],
    ['i64 from Infinity', () => TypedValue.i64(Number.POSITIVE_INFINITY)],
    ['i64 from a string', () => TypedValue.i64('1' as unknown as bigint)],
    ['u256 negative', () => TypedValue.u256(-1n)],
    ['u256 negative number', () => TypedValue.u256(-1)],
    ['u256 of 2^256', () => TypedValue.u256(U256_MAX + 1n)],
    ['u256 from a fraction', () => TypedValue.u256(0.5)],
    ['u256 from an unsafe number', () => TypedValue.u256(2 ** 60)],
    ['string with a lone high surrogate', () => TypedValue.string('a\uD800')],
    ['string with a lone low surrogate', () => TypedValue.string('\uDC00b')],
    ['string with reversed surrogates', () => TypedValue.string('\uDC00\uD800')],
    ['string from a number', () => TypedValue.string(1 as unknown as string)],
    ['set member with a lone surrogate', () => TypedValue.set(['ok', '\uD83D'])],
    ['set member that is not a string', () => TypedValue.set(['ok', 3 as unknown as string])],
    ['array item with a lone surrogate', () => TypedValue.array(['\uDFFF'])],
    ['array item that is not a string', () => TypedValue.array([null as unknown as string])],
    ['bytes from a string', () => TypedValue.bytes('abc' as unknown as Uint8Array)],
    ['bytes from an ArrayBuffer', () => TypedValue.bytes(new ArrayBuffer(2) as unknown as Uint8Array)],
    ['bool from a number', () => TypedValue.bool(1 as unknown as boolean)],
    ['f64 from a string', () => TypedValue.f64('1' as unknown as number)],
    ['f64 from a bigint', () => TypedValue.f64(1n as unknown as number)],
    ['json of undefined', () => TypedValue.json(undefined)],
    ['set from a bare string', () => TypedValue.set('abc')],
    ['set from a number', () => TypedValue.set(5 as unknown as string[])],
    ['set from null', () => TypedValue.set(null as unknown as string[])],
    ['array from a bare string', () => TypedValue.array('abc')],
    ['array from a plain object', () => TypedValue.array({ length: 1 } as unknown as string[])],
  ])('reject %s with INVALID_ARGUMENT', (_name, make) => {
    const e = expectAzothError(make, 'INVALID_ARGUMENT')
    expect(e).toBeInstanceOf(AzothError)
  })

  it('keep a set sorted by UTF-8 bytes and free of duplicates', () => {
    // UTF-16 order would put U+FF5E before U+1F600 (a surrogate pair); UTF-8 order is the reverse.
    const s = TypedValue.set(['😀', 'b', '～', 'a', 'b', ''])
    expect(s.value).toEqual(['', 'a', 'b', '～', '😀'])
    expect(s.asSet()).toBe(s.value)
  })

  it('keep an array in order, duplicates included', () => {
    expect(TypedValue.array(['b', 'a', 'b']).value).toEqual(['b', 'a', 'b'])
    expect(TypedValue.array(new Set(['x', 'y'])).value).toEqual(['x', 'y'])
  })

  it('of() picks the natural kind', () => {
    expect(TypedValue.of(1n).kind).toBe('i64')
    expect(TypedValue.of('s').kind).toBe('string')
    expect(TypedValue.of(false).kind).toBe('bool')
    expect(TypedValue.of(2.5).kind).toBe('f64')
    expect(TypedValue.of(new Uint8Array(1)).kind).toBe('bytes')
    expect(TypedValue.of(new Set(['a'])).kind).toBe('set')
    expect(TypedValue.of({ a: 1 }).kind).toBe('json')
    expect(TypedValue.of(['a']).kind).toBe('json')
    expect(TypedValue.of(null).kind).toBe('json')
    const v = TypedValue.u256(3n)
    expect(TypedValue.of(v)).toBe(v)
    expectAzothError(() => TypedValue.of(undefined), 'INVALID_ARGUMENT')
    expectAzothError(() => TypedValue.of(2n ** 64n), 'INVALID_ARGUMENT')
  })

  it('is() and isTypedValue recognise typed values only', () => {
    expect(TypedValue.is(TypedValue.bool(true))).toBe(true)
    expect(isTypedValue(TypedValue.json(null))).toBe(true)
    expect(TypedValue.is({ kind: 'bool', value: true })).toBe(false)
    expect(isTypedValue(undefined)).toBe(false)
  })
})

describe('TypedValue checked accessors', () => {
  it.each(samples)('$kind: the matching accessor returns the value', ({ value, accessor }) => {
    expect(callAccessor(value, accessor)).toBe(value.value)
  })

  it.each(samples)('$kind: every other accessor throws TYPE_MISMATCH', ({ kind, value, accessor }) => {
    for (const other of accessors) {
      if (other === accessor) continue
      const e = expectAzothError(() => callAccessor(value, other), 'TYPE_MISMATCH')
      expect(e.details).toMatchObject({ actual: kind })
    }
  })

  it('asBigInt reads i64 and u256 and nothing else', () => {
    expect(TypedValue.i64(-3n).asBigInt()).toBe(-3n)
    expect(TypedValue.u256(U256_MAX).asBigInt()).toBe(U256_MAX)
    expectAzothError(() => TypedValue.f64(1).asBigInt(), 'TYPE_MISMATCH')
    expectAzothError(() => TypedValue.string('1').asBigInt(), 'TYPE_MISMATCH')
  })

  it('TYPE_MISMATCH errors are recognised by isAzothError with that code only', () => {
    try {
      TypedValue.bool(true).asI64()
      expect.fail('should throw')
    } catch (e) {
      expect(isAzothError(e, 'TYPE_MISMATCH')).toBe(true)
      expect(isAzothError(e, 'CORRUPTION')).toBe(false)
    }
  })
})

describe('TypedValue equality and display', () => {
  it('equals compares kind and canonical bytes', () => {
    expect(TypedValue.i64(1n).equals(TypedValue.i64(1))).toBe(true)
    expect(TypedValue.i64(1n).equals(TypedValue.u256(1n))).toBe(false)
    expect(TypedValue.i64(1n).equals(undefined)).toBe(false)
    expect(TypedValue.set(['a', 'b']).equals(TypedValue.set(['b', 'a', 'a']))).toBe(true)
    expect(TypedValue.set(['a', 'b']).equals(TypedValue.array(['a', 'b']))).toBe(false)
    expect(TypedValue.array(['a', 'b']).equals(TypedValue.array(['b', 'a']))).toBe(false)
    expect(TypedValue.json({ a: 1, b: [2] }).equals(TypedValue.json({ b: [2], a: 1 }))).toBe(true)
    expect(TypedValue.f64(Number.NaN).equals(TypedValue.f64(Number.NaN))).toBe(true)
    expect(TypedValue.f64(0).equals(TypedValue.f64(-0))).toBe(false)
    expect(TypedValue.bytes(new Uint8Array([1])).equals(TypedValue.bytes(new Uint8Array([1])))).toBe(true)
  })

  it('toJSON gives a JSON-safe form for bigints and bytes', () => {
    expect(JSON.parse(JSON.stringify(TypedValue.u256(U256_MAX)))).toEqual({
      kind: 'u256',
      value: U256_MAX.toString(),
    })
    expect(JSON.parse(JSON.stringify(TypedValue.bytes(new Uint8Array([0xff, 0]))))).toEqual({
      kind: 'bytes',
      value: '/wA=',
    })
    expect(JSON.parse(JSON.stringify(TypedValue.set(['x'])))).toEqual({ kind: 'set', value: ['x'] })
    expect(String(TypedValue.bool(true))).toBe('TypedValue(bool: true)')
  })
})

describe('TypedValue binary layout', () => {
  it('uses a stable tag byte per kind', () => {
    expect(TYPED_VALUE_TAGS).toEqual({
      i64: 1,
      u256: 2,
      string: 3,
      bytes: 4,
      bool: 5,
      f64: 6,
      set: 7,
      array: 8,
      json: 9,
    })
    for (const { kind, value } of samples) expect(encodeTypedValue(value)[0]).toBe(TYPED_VALUE_TAGS[kind])
  })

  it('writes the documented bytes for each fixed layout', () => {
    const h = (v: TypedValue) => Buffer.from(encodeTypedValue(v)).toString('hex')
    expect(h(TypedValue.i64(-2n))).toBe('01fffffffffffffffe')
    expect(h(TypedValue.i64(I64_MIN))).toBe('018000000000000000')
    expect(h(TypedValue.u256(1n))).toBe(`02${'00'.repeat(31)}01`)
    expect(h(TypedValue.u256(U256_MAX))).toBe(`02${'ff'.repeat(32)}`)
    expect(h(TypedValue.u256(2n ** 64n))).toBe(`02${'00'.repeat(23)}01${'00'.repeat(8)}`)
    expect(h(TypedValue.string('é'))).toBe('03c3a9')
    expect(h(TypedValue.string(''))).toBe('03')
    expect(h(TypedValue.bytes(new Uint8Array([0, 255])))).toBe('0400ff')
    expect(h(TypedValue.bool(false))).toBe('0500')
    expect(h(TypedValue.bool(true))).toBe('0501')
    expect(h(TypedValue.f64(1))).toBe('063ff0000000000000')
    expect(h(TypedValue.f64(-0))).toBe('068000000000000000')
    expect(h(TypedValue.f64(Number.NaN))).toBe('067ff8000000000000')
    expect(h(TypedValue.set(['b', 'a']))).toBe('07000000020000000161000000016' + '2')
    expect(h(TypedValue.array([]))).toBe('0800000000')
    expect(h(TypedValue.array(['', 'é']))).toBe('08000000020000000000000002c3a9')
    // json: CBOR with sorted keys: {a:1,b:2} = a2 61 61 01 61 62 02
    expect(h(TypedValue.json({ b: 2, a: 1 }))).toBe('09a2616101616202')
  })

  it('stores every NaN as the one canonical NaN', () => {
    const view = new DataView(new ArrayBuffer(8))
    view.setUint32(0, 0x7ff00000)
    view.setUint32(4, 1) // a signalling NaN with payload 1
    const odd = view.getFloat64(0)
    expect(Number.isNaN(odd)).toBe(true)
    expect(encodeTypedValue(TypedValue.f64(odd))).toEqual(encodeTypedValue(TypedValue.f64(Number.NaN)))
  })

  it('decodes bytes into a copy the caller may reuse', () => {
    const buf = encodeTypedValue(TypedValue.bytes(new Uint8Array([1, 2, 3])))
    const v = decodeTypedValue(buf)
    buf.fill(0)
    expect(v.asBytes()).toEqual(new Uint8Array([1, 2, 3]))
  })

  it('decodes from a view into a larger buffer', () => {
    const inner = encodeTypedValue(TypedValue.i64(-77n))
    const big = new Uint8Array(inner.length + 10)
    big.set(inner, 5)
    expect(decodeTypedValue(big.subarray(5, 5 + inner.length)).asI64()).toBe(-77n)
  })

  it('refuses json it cannot carry unchanged', () => {
    expectAzothError(() => encodeTypedValue(TypedValue.json(() => 1)), 'INVALID_ARGUMENT')
  })

  it('orders Set members and Map entries by their encoding, not by insertion', () => {
    const enc = (v: unknown) => Buffer.from(encodeTypedValue(TypedValue.json(v))).toString('hex')
    expect(enc({ tags: new Set(['b', 'a', 1]) })).toBe(enc({ tags: new Set([1, 'a', 'b']) }))
    expect(
      enc(
        new Map<unknown, number>([
          ['1', 1],
          [1, 2],
        ]),
      ),
    ).toBe(
      enc(
        new Map<unknown, number>([
          [1, 2],
          ['1', 1],
        ]),
      ),
    )
    expect(enc(new Set([{ b: 1, a: 2 }]))).toBe(enc(new Set([{ a: 2, b: 1 }])))
  })

  it('sorts the keys of null-prototype objects too', () => {
    const a = Object.create(null) as Record<string, number>
    a['z'] = 1
    a['y'] = 2
    expect(encodeTypedValue(TypedValue.json(a))).toEqual(encodeTypedValue(TypedValue.json({ y: 2, z: 1 })))
  })

  it.each([
    ['empty input', ''],
    ['an unknown tag 0x00', '00'],
    ['an unknown tag 0x0a', '0a01'],
    ['an unknown tag 0xff', 'ff'],
    ['a short i64', '0100'],
    ['a long i64', '01000000000000000000'],
    ['a short u256', `02${'00'.repeat(31)}`],
    ['a long u256', `02${'00'.repeat(33)}`],
    ['invalid UTF-8 in a string', '03c328'],
    ['an overlong UTF-8 encoding', '03c0af'],
    ['a UTF-8 encoded surrogate', '03eda080'],
    ['a bool without its byte', '05'],
    ['a bool byte of 2', '0502'],
    ['a bool with trailing bytes', '050100'],
    ['a short f64', '063ff0'],
    ['a set without a count', '07000000'],
    ['a set whose count exceeds the data', '07ffffffff'],
    ['a set member overrunning the data', '070000000100000005616263'],
    ['a set with trailing bytes', '07000000010000000161ff'],
    ['unsorted set members', '0700000002000000016200000001' + '61'],
    ['duplicate set members', '0700000002000000016100000001' + '61'],
    ['invalid UTF-8 in a set member', '070000000100000001ff'],
    ['invalid UTF-8 in an array item', '080000000100000001ff'],
    ['an array count with no items', '0800000001'],
    ['an empty json body', '09'],
    ['malformed CBOR', '091c'],
    ['truncated CBOR', '09a261'],
    ['CBOR with trailing bytes', '090101'],
    ['CBOR undefined', '09f7'],
  ])('raises CORRUPTION for %s', (_name, hexBytes) => {
    const e = expectAzothError(() => decodeTypedValue(Buffer.from(hexBytes, 'hex')), 'CORRUPTION')
    expect(e.message).toMatch(/corrupt|malformed/)
  })
})
