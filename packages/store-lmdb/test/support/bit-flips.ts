import { readFileSync, writeFileSync } from 'node:fs'

/** Every offset at which `needle` occurs in `haystack`. */
export function occurrences(haystack: Buffer, needle: Uint8Array): number[] {
  const found: number[] = []
  let at = haystack.indexOf(needle)
  while (at !== -1) {
    found.push(at)
    at = haystack.indexOf(needle, at + 1)
  }
  return found
}

/**
 * Flips bit `bit` (0-7) of the byte at `offset` within each region found by `locate` in `file`
 * (LMDB keeps old copies of pages it rewrote; flipping them all damages the live one too).
 * Returns how many copies were flipped.
 */
export function flipBit(
  file: string,
  locate: (data: Buffer) => number[],
  offset: number,
  bit: number,
): number {
  const data = readFileSync(file)
  const starts = locate(data)
  for (const start of starts) data[start + offset]! ^= 1 << bit
  writeFileSync(file, data)
  return starts.length
}
