import { ConflictError, ExpectedVersionConflictError, isAzothError, streamCategory } from '@azothdb/core'
import {
  checkExpectedVersion,
  MAX_STREAM_NAME_BYTES,
  streamNameBytes,
  versionMatches,
} from '@azothdb/core/internal'
import { describe, expect, it } from 'vitest'
import { expectAzothError } from './helpers.js'

describe('ExpectedVersionConflictError', () => {
  it('is a CONFLICT carrying stream, expected and actual', () => {
    const e = new ExpectedVersionConflictError('cart-42', 3n, 5n)
    expect(e).toBeInstanceOf(ConflictError)
    expect(isAzothError(e, 'CONFLICT')).toBe(true)
    expect(e.name).toBe('ExpectedVersionConflictError')
    expect(e.details).toEqual({ stream: 'cart-42', expected: 3n, actual: 5n })
    expect([e.stream, e.expected, e.actual]).toEqual(['cart-42', 3n, 5n])
    expect(new ExpectedVersionConflictError('s', 'stream_exists', undefined).actual).toBe('no_stream')
    expect(e.message).toContain('cart-42')
  })
})

describe('stream names and expected versions', () => {
  it('accepts names of 1 to 255 well-formed UTF-8 bytes', () => {
    expect(streamNameBytes('a')).toEqual(new Uint8Array([97]))
    expect(streamNameBytes('€'.repeat(85)).length).toBe(MAX_STREAM_NAME_BYTES)
    for (const bad of ['', '€'.repeat(85) + 'x', 'x'.repeat(256), '\uDC00', 5, undefined, null]) {
      expectAzothError(() => streamNameBytes(bad), 'INVALID_ARGUMENT')
    }
  })

  it('the category is the part before the first dash', () => {
    expect(streamCategory('cart-42')).toBe('cart')
    expect(streamCategory('-x')).toBe('')
    expect(streamCategory('solo')).toBe('solo')
  })

  it('checks expected versions and matches them', () => {
    expect(checkExpectedVersion(undefined)).toBe('any')
    for (const ok of ['any', 'no_stream', 'stream_exists', 0n, 7n] as const)
      expect(checkExpectedVersion(ok)).toBe(ok)
    for (const bad of [-1n, 1n << 64n, 1, '3', null, {}]) {
      expectAzothError(() => checkExpectedVersion(bad), 'INVALID_ARGUMENT')
    }
    const table: [Parameters<typeof versionMatches>[0], bigint | undefined, boolean][] = [
      ['any', undefined, true],
      ['any', 3n, true],
      ['no_stream', undefined, true],
      ['no_stream', 0n, false],
      ['stream_exists', undefined, false],
      ['stream_exists', 0n, true],
      [0n, undefined, false],
      [0n, 0n, true],
      [2n, 3n, false],
    ]
    for (const [expected, actual, result] of table) expect(versionMatches(expected, actual)).toBe(result)
  })
})
