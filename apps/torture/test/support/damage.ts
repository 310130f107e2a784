import { readdirSync, readFileSync, rmSync, statSync, truncateSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import type { Prng } from '../../src/prng.js'

/** Flips one random bit of the file; returns the byte offset. */
export function flipBit(path: string, random: Prng): number {
  const bytes = readFileSync(path)
  const offset = random.int(0, bytes.length - 1)
  bytes[offset]! ^= 1 << random.int(0, 7)
  writeFileSync(path, bytes)
  return offset
}

/** Cuts the file to `fraction` of its size. */
export function truncateTo(path: string, fraction: number): void {
  truncateSync(path, Math.floor(statSync(path).size * fraction))
}

export function remove(path: string): void {
  rmSync(path, { recursive: true, force: false })
}

/** Files of the file log with this suffix (`.seg` or `.idx`), oldest first. */
export function logFiles(dir: string, suffix: '.seg' | '.idx'): string[] {
  const events = join(dir, 'events')
  return readdirSync(events)
    .filter((n) => n.endsWith(suffix))
    .sort()
    .map((n) => join(events, n))
}
