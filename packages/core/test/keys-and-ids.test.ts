import {
  compareBytes,
  compareUtf8,
  encodeKey,
  eventIdBytes,
  hashKey,
  isEventId,
  keyId,
  keyToString,
  readEventId,
  resolveLimits,
  utf8DecodeStrict,
  utf8Encode,
  utf8Length,
  writeEventId,
} from '@azothdb/core/internal'
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { unicodeString } from './arbitraries.js'
import { expectAzothError, propertyTimeout, runs } from './helpers.js'

const limits = resolveLimits({ maxKeyBytes: 8 })

describe('encodeKey', () => {
  it('returns the UTF-8 bytes of a string key and raw keys as they are', () => {
    // Bytes compared by content: the result may be a Buffer (a Uint8Array subclass).
    const bytes = encodeKey('é', limits)
    expect(bytes).toBeInstanceOf(Uint8Array)
    expect([...bytes]).toEqual([0xc3, 0xa9])
    const raw = new Uint8Array([0, 255])
    expect(encodeKey(raw, limits)).toBe(raw)
  })

  it('rejects empty keys, lone surrogates and non-keys with INVALID_ARGUMENT', () => {
    expectAzothError(() => encodeKey('', limits), 'INVALID_ARGUMENT')
    expectAzothError(() => encodeKey(new Uint8Array(0), limits), 'INVALID_ARGUMENT')
    expectAzothError(() => encodeKey('a\uD800', limits), 'INVALID_ARGUMENT')
    expectAzothError(() => encodeKey(5 as unknown as string, limits), 'INVALID_ARGUMENT')
    expectAzothError(() => encodeKey(null as unknown as string, limits), 'INVALID_ARGUMENT')
  })

  it('rejects keys over the limit in UTF-8 bytes with KEY_TOO_LARGE', () => {
    encodeKey('12345678', limits)
    encodeKey('😀😀', limits) // 8 bytes, 4 UTF-16 units
    expectAzothError(() => encodeKey('123456789', limits), 'KEY_TOO_LARGE')
    expectAzothError(() => encodeKey('ééééa', limits), 'KEY_TOO_LARGE') // 9 bytes, 5 characters
    expectAzothError(() => encodeKey(new Uint8Array(9), limits), 'KEY_TOO_LARGE')
  })
})

describe('hashKey', () => {
  it('gives the same value for a string and its UTF-8 bytes', () => {
    fc.assert(
      fc.property(unicodeString, (s) => {
        const h = hashKey(s)
        expect(h).toBe(hashKey(utf8Encode(s)))
        expect(Number.isInteger(h) && h >= 0 && h < 2 ** 32).toBe(true)
      }),
      { numRuns: runs(500) },
    )
  })

  it('is 32-bit FNV-1a', () => {
    expect(hashKey('')).toBe(0x811c9dc5)
    expect(hashKey('a')).toBe(0xe40c292c)
    expect(hashKey('foobar')).toBe(0xbf9cf968)
  })
})

describe('keyId', () => {
  const bytesOf = (k: string | Uint8Array) => (typeof k === 'string' ? utf8Encode(k) : k)
  const keyArb = fc.oneof(
    unicodeString.filter((s) => s.length > 0),
    fc.uint8Array({ minLength: 1, maxLength: 12 }),
  )

  it('gives a string and its UTF-8 bytes the same id', () => {
    fc.assert(
      fc.property(unicodeString, (s) => {
        expect(keyId(s)).toBe(keyId(utf8Encode(s)))
        expect(keyId(s)).toBe(keyId(Buffer.from(s, 'utf8')))
      }),
      { numRuns: runs(500) },
    )
    expect(keyId('plain')).toBe('plain')
  })

  it('gives equal ids exactly to keys with equal bytes', () => {
    fc.assert(
      fc.property(keyArb, keyArb, (a, b) => {
        expect(keyId(a) === keyId(b)).toBe(Buffer.from(bytesOf(a)).equals(Buffer.from(bytesOf(b))))
      }),
      { numRuns: runs(1000) },
    )
    expect(keyId(new Uint8Array([0xc3, 0xa9]))).toBe(keyId('é'))
    expect(keyId(new Uint8Array([0xe9]))).not.toBe(keyId('é'))
  })

  it('reads only the view it is given', () => {
    const big = new Uint8Array([1, 0x61, 0x62, 2])
    expect(keyId(big.subarray(1, 3))).toBe('ab')
  })
})

describe('keyToString', () => {
  it('shows UTF-8 keys as text and other bytes as hex', () => {
    expect(keyToString('k')).toBe('k')
    expect(keyToString(utf8Encode('ключ'))).toBe('ключ')
    expect(keyToString(new Uint8Array([0xff, 0x00]))).toBe('0xff00')
    expect(keyToString(new Uint8Array([1, 2, 0xff]).subarray(2))).toBe('0xff')
  })
})

describe('UTF-8 helpers', propertyTimeout, () => {
  it('utf8Length matches the encoder, lone surrogates counted as U+FFFD', () => {
    fc.assert(
      fc.property(
        fc.string({
          unit: fc.oneof(fc.constantFrom('\uD800', '\uDC00'), fc.string({ unit: 'binary', maxLength: 1 })),
        }),
        (s) => {
          expect(utf8Length(s)).toBe(utf8Encode(s).length)
        },
      ),
      { numRuns: runs(500) },
    )
  })

  it('utf8DecodeStrict decodes valid UTF-8 and refuses the rest', () => {
    fc.assert(
      fc.property(unicodeString, fc.nat(4), (s, pad) => {
        const b = new Uint8Array([...new Uint8Array(pad), ...utf8Encode(s)])
        expect(utf8DecodeStrict(b, pad)).toBe(s)
      }),
      { numRuns: runs(500) },
    )
    expect(utf8DecodeStrict(new Uint8Array([0x61, 0xff]))).toBeUndefined()
    expect(utf8DecodeStrict(new Uint8Array([0xef, 0xbb, 0xbf, 0x61]))).toBe('\uFEFFa')
    expect(utf8DecodeStrict(new Uint8Array(100).fill(0xc3))).toBeUndefined()
    expect(utf8DecodeStrict(new Uint8Array([0x61, 0x62, 0x63]), 1, 2)).toBe('b')
  })

  it('compareUtf8 orders like the bytes (not like UTF-16)', () => {
    fc.assert(
      fc.property(unicodeString, unicodeString, (a, b) => {
        const expected = Math.sign(Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8')))
        expect(Math.sign(compareUtf8(a, b))).toBe(expected)
        expect(Math.sign(compareBytes(utf8Encode(a), utf8Encode(b)))).toBe(expected)
      }),
      { numRuns: runs(500) },
    )
    expect(compareUtf8('\uFF5E', '😀')).toBeLessThan(0)
  })
})

describe('event ids', () => {
  it('round-trip through 8 big-endian bytes', () => {
    fc.assert(
      fc.property(
        fc.oneof(fc.maxSafeNat(), fc.constantFrom(0, 1, 2 ** 32, Number.MAX_SAFE_INTEGER)),
        (id) => {
          const b = eventIdBytes(id)
          expect(b.length).toBe(8)
          expect(readEventId(b, 0)).toBe(id)
          expect(Buffer.from(b).readBigUInt64BE(0)).toBe(BigInt(id))
          const at = new Uint8Array(12)
          writeEventId(at, 3, id)
          expect(readEventId(at, 3)).toBe(id)
        },
      ),
      { numRuns: runs(300) },
    )
  })

  it('read -1 for values beyond safe integers', () => {
    expect(readEventId(new Uint8Array(8).fill(0xff), 0)).toBe(-1)
    expect(readEventId(new Uint8Array([0, 0x20, 0, 0, 0, 0, 0, 0]), 0)).toBe(-1)
  })

  it('isEventId accepts positive safe integers only', () => {
    expect(isEventId(1)).toBe(true)
    expect(isEventId(Number.MAX_SAFE_INTEGER)).toBe(true)
    for (const v of [0, -1, 1.5, 2 ** 53, Number.NaN, '1', 1n]) expect(isEventId(v)).toBe(false)
  })
})
