import type { Key } from 'azothdb'
import { UsageError } from './usage-error.js'

/** A key (or prefix) from the command line: the string as given, or with `--hex` the bytes it spells. */
export function keyArgument(text: string, hex: boolean | undefined): Key {
  if (hex !== true) return text
  const digits = text.startsWith('0x') ? text.slice(2) : text
  if (digits.length % 2 !== 0 || !/^[0-9a-fA-F]*$/.test(digits)) {
    throw new UsageError(`'${text}' is not hex bytes (an even number of 0-9a-f digits)`)
  }
  return new Uint8Array(Buffer.from(digits, 'hex'))
}
