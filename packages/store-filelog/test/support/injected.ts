import { isAzothError } from '@azothdb/core'
import { FILE_SYSTEM } from '@azothdb/core/internal'
import { expect } from 'vitest'
import { type FileEventLog, type FileEventLogOptions, openFileEventLog } from '../../src/index.js'
import type { FaultyFileSystem } from './faulty-file-system.js'

/** A log whose file operations go through `fs` (the internal option key, as the facade passes it). */
export function openWith(
  dir: string,
  fs: FaultyFileSystem,
  options: FileEventLogOptions = {},
): Promise<FileEventLog> {
  return openFileEventLog(dir, { ...options, [FILE_SYSTEM]: fs } as FileEventLogOptions)
}

/** What `p` rejects with (fails the test when it resolves). */
export async function rejection(p: Promise<unknown>): Promise<unknown> {
  return p.then(
    () => {
      throw new Error('expected a rejection')
    },
    (e: unknown) => e,
  )
}

/** What `fn` throws (fails the test when it returns). */
export function thrown(fn: () => unknown): unknown {
  try {
    fn()
  } catch (e) {
    return e
  }
  throw new Error('expected a throw')
}

/** `e` is `IO` carrying `errno`. */
export function expectIo(e: unknown, errno: string): void {
  expect(isAzothError(e, 'IO')).toBe(true)
  expect((e as { details: Record<string, unknown> }).details['errno']).toBe(errno)
}
