import { mkdtempSync, rmSync } from 'node:fs'
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
