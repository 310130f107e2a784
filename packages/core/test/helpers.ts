import { type AzothErrorCode, isAzothError } from '@azothdb/core'
import { expect } from 'vitest'

/** Property-test run count: modest by default, large with `AZOTH_STRESS=1`. */
export function runs(base: number): number {
  return process.env.AZOTH_STRESS === '1' ? base * 20 : base
}

/** Calls `fn` and returns what it threw; fails the test when it returns normally. */
export function thrown(fn: () => unknown): unknown {
  try {
    fn()
  } catch (e) {
    return e
  }
  expect.fail('expected the call to throw')
}

/** Asserts that `fn` throws an AzothError with `code` and returns it for further checks. */
export function expectAzothError(fn: () => unknown, code: AzothErrorCode): Error & { details?: unknown } {
  const e = thrown(fn)
  if (!isAzothError(e, code)) {
    throw new Error(`expected AzothError ${code}, got ${String(e)}`, { cause: e })
  }
  return e
}

/** Awaits `p` and returns the rejection reason; fails the test when it resolves. */
export async function rejection(p: Promise<unknown>): Promise<unknown> {
  try {
    await p
  } catch (e) {
    return e
  }
  return expect.fail('expected the promise to reject')
}

export function hex(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('hex')
}

/** A generous cap for property-test blocks (never a performance assertion): they run longer under stress. */
export const propertyTimeout = { timeout: process.env.AZOTH_STRESS === '1' ? 900_000 : 60_000 }
