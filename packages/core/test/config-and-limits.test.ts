import { DEFAULT_LIMITS } from '@azothdb/core'
import {
  checkArgument,
  checkArgumentFields,
  checkEventSize,
  checkInteger,
  checkKeySize,
  checkKnownFields,
  checkNumber,
  checkOneOf,
  checkOption,
  checkValueSize,
  optional,
  resolveLimits,
  rules,
  withMethods,
} from '@azothdb/core/internal'
import { describe, expect, it } from 'vitest'
import { expectAzothError } from './helpers.js'

describe('resolveLimits', () => {
  it('fills in the documented defaults', () => {
    expect(resolveLimits(undefined)).toEqual({
      maxKeyBytes: 511,
      maxValueBytes: 16 * 1024 * 1024,
      maxEventBytes: 4 * 1024 * 1024,
      maxTransactionEventBytes: 64 * 1024 * 1024,
    })
    expect(resolveLimits({})).toEqual(DEFAULT_LIMITS)
    expect(Object.isFrozen(resolveLimits({}))).toBe(true)
  })

  it('keeps valid overrides', () => {
    expect(resolveLimits({ maxKeyBytes: 1978, maxEventBytes: 1 })).toMatchObject({
      maxKeyBytes: 1978,
      maxEventBytes: 1,
      maxValueBytes: DEFAULT_LIMITS.maxValueBytes,
    })
  })

  it.each([
    ['maxKeyBytes', 0],
    ['maxKeyBytes', 1979],
    ['maxKeyBytes', 1.5],
    ['maxValueBytes', -1],
    ['maxValueBytes', Number.NaN],
    ['maxEventBytes', Number.POSITIVE_INFINITY],
    ['maxEventBytes', '10'],
    ['maxTransactionEventBytes', 2048 * 1024 * 1024],
  ])('raises CONFIG naming limits.%s for %s', (field, value) => {
    const e = expectAzothError(() => resolveLimits({ [field]: value }), 'CONFIG')
    expect(e.details).toMatchObject({ field: `limits.${field}` })
    expect(Object.is((e.details as { value: unknown }).value, value)).toBe(true)
    expect(e.message).toContain(`limits.${field}`)
    expect(e.message).toContain(String(value))
  })

  it('raises CONFIG for limits that are not an object or name an unknown field', () => {
    for (const bad of ['x', null, 5, [1]]) expectAzothError(() => resolveLimits(bad as never), 'CONFIG')
    const e = expectAzothError(() => resolveLimits({ maxKeys: 1 } as never), 'CONFIG')
    expect(e.details).toEqual({ field: 'maxKeys' })
  })
})

describe('config checks', () => {
  it('checkOneOf returns the value or raises CONFIG naming field and value', () => {
    expect(checkOneOf('durability', 'sync', ['sync', 'relaxed'])).toBe('sync')
    const e = expectAzothError(() => checkOneOf('durability', 'fast', ['sync', 'relaxed']), 'CONFIG')
    expect(e.details).toEqual({ field: 'durability', value: 'fast' })
    expect(e.message).toContain('durability')
    expect(e.message).toContain("'sync', 'relaxed'")
    expect(e.message).toContain('fast')
    expectAzothError(() => checkOneOf('durability', undefined, ['sync']), 'CONFIG')
    expectAzothError(() => checkOneOf('durability', 1, ['sync']), 'CONFIG')
  })

  it('checkInteger accepts integers in range and names the field otherwise', () => {
    expect(checkInteger('stripes', 1, 1, 10)).toBe(1)
    expect(checkInteger('stripes', 10, 1, 10)).toBe(10)
    expect(checkInteger('n', Number.MAX_SAFE_INTEGER, 0)).toBe(Number.MAX_SAFE_INTEGER)
    for (const bad of [0, 11, 2.5, Number.NaN, Number.POSITIVE_INFINITY, '5', null, 5n]) {
      const e = expectAzothError(() => checkInteger('stripes', bad, 1, 10), 'CONFIG')
      expect(e.details).toMatchObject({ field: 'stripes' })
      expect(Object.is((e.details as { value: unknown }).value, bad)).toBe(true)
      expect(e.message).toContain('stripes')
    }
  })

  it('checkNumber accepts finite numbers in range', () => {
    expect(checkNumber('ratio', 0.5, 0, 1)).toBe(0.5)
    expect(checkNumber('delay', 1e9, 0)).toBe(1e9)
    for (const bad of [-0.1, 1.1, Number.NaN, '0.5', undefined]) {
      const e = expectAzothError(() => checkNumber('ratio', bad, 0, 1), 'CONFIG')
      expect(e.details).toMatchObject({ field: 'ratio' })
    }
  })

  it('checkNumber refuses infinities even without an upper bound', () => {
    // A delay of Infinity would reach setTimeout, which fires it after 1 ms.
    for (const bad of [Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY]) {
      const e = expectAzothError(() => checkNumber('maxDelayMs', bad, 0), 'CONFIG')
      expect(e.details).toMatchObject({ field: 'maxDelayMs', value: bad })
    }
  })

  it('checkKnownFields catches typos', () => {
    checkKnownFields('open()', undefined, ['a'])
    checkKnownFields('open()', { a: 1 }, ['a', 'b'])
    const e = expectAzothError(() => checkKnownFields('open()', { a: 1, durabilty: 'sync' }, ['a']), 'CONFIG')
    expect(e.details).toEqual({ field: 'durabilty' })
    expect(e.message).toContain('open()')
  })

  it('checkKnownFields refuses options that are not an object', () => {
    for (const bad of [null, 5, 'x', [], true])
      expectAzothError(() => checkKnownFields('open()', bad, ['a']), 'CONFIG')
  })

  it('one rule checks an option (CONFIG) or an argument (INVALID_ARGUMENT), naming it', () => {
    expect(checkOption('create', true, rules.boolean)).toBe(true)
    expect(checkArgument('dir', './db', rules.path)).toBe('./db')
    const option = expectAzothError(() => checkOption('create', 'no', rules.boolean), 'CONFIG')
    expect(option.details).toEqual({ field: 'create', value: "'no'" })
    const argument = expectAzothError(() => checkArgument('dir', '', rules.path), 'INVALID_ARGUMENT')
    expect(argument.details).toEqual({ argument: 'dir', value: "''" })
    expectAzothError(() => checkArgument('dir', 'a\0b', rules.path), 'INVALID_ARGUMENT')
    expectAzothError(() => checkArgument('keys', 'ab', rules.iterable), 'INVALID_ARGUMENT')
    expect(checkArgument('keys', new Set(['a']), rules.iterable)).toBeInstanceOf(Set)
    expectAzothError(() => checkArgument('id', 0, rules.positiveInteger), 'INVALID_ARGUMENT')
    expectAzothError(() => checkArgument('key', 5, rules.key), 'INVALID_ARGUMENT')
    expect(checkArgument('options', undefined, optional(rules.object))).toBeUndefined()
    expectAzothError(() => checkArgument('options', null, optional(rules.object)), 'INVALID_ARGUMENT')
    const clock = withMethods('a Clock', ['now', 'sleep'])
    expectAzothError(() => checkOption('clock', { now: () => 0 }, clock), 'CONFIG')
    expect(checkOption('clock', { now: () => 0, sleep: async () => {} }, clock)).toBeDefined()
  })

  it('checkArgumentFields names an unknown or bad field of a call-time option bag', () => {
    const fields = { limit: rules.nonNegativeInteger, reverse: rules.boolean }
    checkArgumentFields('options', undefined, fields)
    checkArgumentFields('options', { limit: 0, reverse: undefined }, fields)
    const unknown = expectAzothError(
      () => checkArgumentFields('options', { lmit: 1 }, fields),
      'INVALID_ARGUMENT',
    )
    expect(unknown.details).toEqual({ argument: 'options.lmit' })
    const badLimit = expectAzothError(
      () => checkArgumentFields('options', { limit: 'x' }, fields),
      'INVALID_ARGUMENT',
    )
    expect(badLimit.details).toMatchObject({ argument: 'options.limit' })
    expectAzothError(() => checkArgumentFields('options', null, fields), 'INVALID_ARGUMENT')
  })
})

describe('size limits', () => {
  const limits = resolveLimits({
    maxKeyBytes: 4,
    maxValueBytes: 10,
    maxEventBytes: 20,
    maxTransactionEventBytes: 50,
  })

  it('KEY_TOO_LARGE above the key limit', () => {
    checkKeySize(4, limits, 'abcd')
    const e = expectAzothError(() => checkKeySize(5, limits, 'abcde'), 'KEY_TOO_LARGE')
    expect(e.details).toEqual({ size: 5, limit: 4, key: 'abcde' })
    const long = expectAzothError(() => checkKeySize(500, limits, 'x'.repeat(500)), 'KEY_TOO_LARGE')
    expect((long.details as { key: string }).key.length).toBeLessThanOrEqual(64)
    const bytes = expectAzothError(() => checkKeySize(5, limits, new Uint8Array(5)), 'KEY_TOO_LARGE')
    expect(bytes.details).toMatchObject({ key: '<5 bytes>' })
  })

  it('VALUE_TOO_LARGE above the value limit', () => {
    checkValueSize(10, limits, 'k')
    const e = expectAzothError(() => checkValueSize(11, limits, 'k'), 'VALUE_TOO_LARGE')
    expect(e.details).toEqual({ size: 11, limit: 10, key: 'k' })
  })

  it('EVENT_TOO_LARGE for one event or for the transaction total', () => {
    checkEventSize(20, 50, limits, 'T')
    const one = expectAzothError(() => checkEventSize(21, 21, limits, 'T'), 'EVENT_TOO_LARGE')
    expect(one.details).toEqual({ size: 21, limit: 20, type: 'T' })
    expect(one.message).toContain("'T'")
    const total = expectAzothError(() => checkEventSize(10, 51, limits, 'T'), 'EVENT_TOO_LARGE')
    expect(total.details).toEqual({ size: 51, limit: 50, type: 'T' })
  })
})
