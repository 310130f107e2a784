import { isAzothError } from 'azothdb'
import { expect } from 'vitest'

/** Asserts that `action` (a function or a promise) fails with an AzothError of `code`; returns the error. */
export async function expectCode(action: Promise<unknown> | (() => unknown), code: string): Promise<unknown> {
  let outcome: unknown = 'no error'
  try {
    await (typeof action === 'function' ? action() : action)
  } catch (e) {
    outcome = e
  }
  const got = isAzothError(outcome) ? outcome.code : String(outcome)
  expect(got, `expected ${code}, got ${String(outcome)}`).toBe(code)
  return outcome
}
