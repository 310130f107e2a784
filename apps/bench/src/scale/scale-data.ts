import { readdirSync, statSync } from 'node:fs'
import { join } from 'node:path'

/** Accounts the deposits spread over: the catch-up's balances table has this many rows. */
export const ACCOUNTS = 10_000

/** The one event type of a scale database. */
export const EVENT_TYPE = 'deposited'

/** The payload of event `i` (and of the transactions committed on top): the same on every side. */
export interface Deposit {
  account: string
  amount: number
  memo: string
}

const MEMO = 'x'.repeat(40)

export function depositOf(i: number): Deposit {
  return { account: `acct-${(i * 7919) % ACCOUNTS}`, amount: 1 + (i % 100), memo: MEMO }
}

/** State key `i` (0 ≤ i < 10^8): fixed width, so keys sort like their numbers. */
export function keyOf(i: number): string {
  return `k${String(i).padStart(8, '0')}`
}

/**
 * A deterministic pseudo-random index below `n` for the `i`-th access: a multiplicative hash, so
 * reads land all over the key space instead of walking it in order (which the page cache loves).
 */
export function spreadIndex(i: number, n: number): number {
  return Math.floor(((Math.imul(i + 1, 2654435761) >>> 0) / 4294967296) * n)
}

/** Bytes a directory (or file) occupies on disk: allocated blocks, so sparse files count as stored. */
export function diskBytes(path: string): number {
  const st = statSync(path)
  if (!st.isDirectory()) return st.blocks * 512
  let total = st.blocks * 512
  for (const name of readdirSync(path)) total += diskBytes(join(path, name))
  return total
}

/** `1e4`-style labels for the sizes, as in the report: 10^4 … 10^7. */
export function sizeLabel(n: number): string {
  const exp = Math.log10(n)
  return Number.isInteger(exp) ? `10^${exp}` : n.toLocaleString('en')
}
