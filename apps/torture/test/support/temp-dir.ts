import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll } from 'vitest'

const made: string[] = []
afterAll(() => {
  for (const dir of made.splice(0)) rmSync(dir, { recursive: true, force: true })
})

/** A fresh directory under the OS temp dir, removed after the file's tests. */
export function tempDir(label = 'azoth-torture-'): string {
  const dir = mkdtempSync(join(tmpdir(), label))
  made.push(dir)
  return dir
}
