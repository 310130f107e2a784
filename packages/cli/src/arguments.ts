import { InvalidArgumentError } from 'commander'

function integer(value: string, min: number, what: string): number {
  const n = /^\d+$/.test(value) ? Number(value) : Number.NaN
  if (!Number.isSafeInteger(n) || n < min) throw new InvalidArgumentError(`expected ${what}.`)
  return n
}

/** An event id, a row id or a count: an integer >= 1 (a usage error, exit 2, otherwise). */
export function positiveInteger(value: string): number {
  return integer(value, 1, 'an integer >= 1')
}

/** An inclusive upper event id: an integer >= 0. */
export function nonNegativeInteger(value: string): number {
  return integer(value, 0, 'an integer >= 0')
}

/** Collects a repeatable option (`--type a --type b`). */
export function collect(value: string, previous: readonly string[]): string[] {
  return [...previous, value]
}
