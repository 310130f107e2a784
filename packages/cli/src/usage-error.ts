/**
 * A malformed command line found after parsing (a bad number, a missing option): exits with code 2
 * like commander's own usage errors, and is never an `AzothError` because nothing was attempted.
 */
export class UsageError extends Error {
  override readonly name = 'UsageError'
}
