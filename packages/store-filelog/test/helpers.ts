import { closeSync, mkdtempSync, openSync, readSync, rmSync, writeSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

/** A fresh temporary directory; remove it with {@link removeDir}. */
export function tempDir(prefix = 'azoth-filelog-'): string {
  return mkdtempSync(join(tmpdir(), prefix))
}

export function removeDir(dir: string): void {
  rmSync(dir, { recursive: true, force: true })
}

/** A deterministic payload for `id`: length varies with the id, content names it. */
export function payloadFor(id: number, size = 1 + ((id * 37) % 90)): Uint8Array {
  const out = new Uint8Array(size)
  for (let i = 0; i < size; i++) out[i] = (id * 31 + i * 7) & 0xff
  return out
}

export function payloads(firstId: number, count: number): Uint8Array[] {
  const out: Uint8Array[] = []
  for (let i = 0; i < count; i++) out.push(payloadFor(firstId + i))
  return out
}

/** Flips bits of the byte at `offset` of `file` (damage for the corruption tests). */
export function flipByte(file: string, offset: number): void {
  const fd = openSync(file, 'r+')
  const b = Buffer.alloc(1)
  readSync(fd, b, 0, 1, offset)
  b[0] = b[0]! ^ 0x5a
  writeSync(fd, b, 0, 1, offset)
  closeSync(fd)
}
