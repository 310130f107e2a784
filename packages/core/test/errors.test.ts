import {
  AZOTH_ERROR_CODES,
  AzothError,
  ClosedError,
  ConfigError,
  ConflictError,
  CorruptionError,
  isAzothError,
  LockedError,
  LockTimeoutError,
  PreflightFailedError,
  TypeMismatchError,
} from '@azothdb/core'
import { toError } from '@azothdb/core/internal'
import { describe, expect, it } from 'vitest'

describe('AzothError', () => {
  it('carries code, message, details and cause', () => {
    const cause = new Error('disk on fire')
    const e = new AzothError('IO', 'write failed', { cause, details: { file: 'x' } })
    expect(e).toBeInstanceOf(Error)
    expect(e.code).toBe('IO')
    expect(e.message).toBe('write failed')
    expect(e.details).toEqual({ file: 'x' })
    expect(e.cause).toBe(cause)
    expect(e.name).toBe('AzothError')
    expect(e.stack).toContain('write failed')
    expect(new AzothError('IO', 'x').cause).toBeUndefined()
    expect('cause' in new AzothError('IO', 'x')).toBe(false)
  })

  it.each([
    [new PreflightFailedError('p'), 'PREFLIGHT_FAILED', 'PreflightFailedError'],
    [new ConflictError('c'), 'CONFLICT', 'ConflictError'],
    [new LockTimeoutError('l'), 'LOCK_TIMEOUT', 'LockTimeoutError'],
    [new CorruptionError('c'), 'CORRUPTION', 'CorruptionError'],
    [new ConfigError('c'), 'CONFIG', 'ConfigError'],
    [new TypeMismatchError('t'), 'TYPE_MISMATCH', 'TypeMismatchError'],
    [new ClosedError('the database'), 'CLOSED', 'ClosedError'],
    [new LockedError('l'), 'LOCKED', 'LockedError'],
  ] as const)('subclass %s has code %s and its own name', (e, code, name) => {
    expect(e).toBeInstanceOf(AzothError)
    expect(e.code).toBe(code)
    expect(e.name).toBe(name)
    expect(isAzothError(e, code)).toBe(true)
    expect(AZOTH_ERROR_CODES).toContain(code)
  })

  it('ClosedError names what was closed', () => {
    expect(new ClosedError('the event log').message).toBe('the event log is closed')
  })

  it('lists every code once', () => {
    expect(new Set(AZOTH_ERROR_CODES).size).toBe(AZOTH_ERROR_CODES.length)
    for (const code of ['PREFLIGHT_FAILED', 'LOCK_TIMEOUT', 'CORRUPTION', 'CONFIG', 'IO'] as const) {
      expect(AZOTH_ERROR_CODES).toContain(code)
    }
  })
})

describe('isAzothError', () => {
  it('checks by code, any of several codes, or none', () => {
    const e = new ConflictError('c')
    expect(isAzothError(e)).toBe(true)
    expect(isAzothError(e, 'CONFLICT')).toBe(true)
    expect(isAzothError(e, 'LOCK_TIMEOUT', 'CONFLICT')).toBe(true)
    expect(isAzothError(e, 'LOCK_TIMEOUT')).toBe(false)
  })

  it('rejects plain errors, look-alikes and non-objects', () => {
    expect(isAzothError(new Error('x'))).toBe(false)
    const lookalike = Object.assign(new Error('x'), { code: 'CONFLICT' })
    expect(isAzothError(lookalike)).toBe(false)
    expect(isAzothError(lookalike, 'CONFLICT')).toBe(false)
    expect(isAzothError({ code: 'CONFLICT', name: 'AzothError' })).toBe(false)
    for (const v of [undefined, null, 'CONFLICT', 42, Symbol('x'), () => 1])
      expect(isAzothError(v)).toBe(false)
  })

  it('recognises an error from another copy of the package by its global brand', () => {
    // A second copy of @azothdb/core has its own AzothError class but brands with the same
    // globally registered symbol; simulate it with a class that is not ours.
    class ForeignAzothError extends Error {
      readonly code = 'CONFLICT'
      constructor() {
        super('from another copy')
        Object.defineProperty(this, Symbol.for('azoth.error'), { value: true })
      }
    }
    const foreign = new ForeignAzothError()
    expect(foreign instanceof AzothError).toBe(false)
    expect(isAzothError(foreign)).toBe(true)
    expect(isAzothError(foreign, 'CONFLICT')).toBe(true)
    expect(isAzothError(foreign, 'CORRUPTION')).toBe(false)
  })

  it('keeps the brand out of sight: not enumerable, not serialised', () => {
    const e = new AzothError('CONFIG', 'bad', { details: { field: 'x' } })
    expect(Object.keys(e)).not.toContain(Symbol.for('azoth.error'))
    expect(Object.getOwnPropertySymbols(e)).toContain(Symbol.for('azoth.error'))
    expect(JSON.parse(JSON.stringify(e))).toEqual({ code: 'CONFIG', details: { field: 'x' } })
    expect(isAzothError({ ...e })).toBe(false)
  })
})

describe('toError', () => {
  it('keeps errors and wraps everything else', () => {
    const e = new AzothError('IO', 'x')
    expect(toError(e)).toBe(e)
    const plain = new TypeError('t')
    expect(toError(plain)).toBe(plain)
    expect(toError('oops').message).toBe('oops')
    expect(toError(42).message).toBe('non-error thrown: 42')
    expect(toError(undefined)).toBeInstanceOf(Error)
  })
})
