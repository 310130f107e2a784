// A full disk for real: a size-limited tmpfs (we run as root in CI), a ballast file that fills it,
// and the scenario the disk-full tests run in-process and in a child process.
import { execFileSync } from 'node:child_process'
import { closeSync, ftruncateSync, mkdtempSync, openSync, rmSync, unlinkSync, writeSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { isAzothError } from '@azothdb/core'
import { type FileEventLog, openFileEventLog } from '../../src/index.js'
import { payloadFor } from '../helpers.js'

/** A mounted tmpfs of `sizeKiB`, or why there is none (not root, no mount). */
export function mountTmpfs(sizeKiB: number): { dir: string; unmount(): void } | { skip: string } {
  if (process.getuid?.() !== 0) return { skip: 'mounting a tmpfs needs root' }
  const dir = mkdtempSync(join(tmpdir(), 'azoth-filelog-full-'))
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${sizeKiB}k`, 'tmpfs', dir], { stdio: 'pipe' })
  } catch (e) {
    rmSync(dir, { recursive: true, force: true })
    return { skip: `mount -t tmpfs failed: ${String(e)}` }
  }
  return {
    dir,
    unmount: () => {
      // Lazily, should a failed case have left a descriptor open on it.
      execFileSync('umount', ['-l', dir])
      rmSync(dir, { recursive: true, force: true })
    },
  }
}

/** Fills the file system of `dir` with a ballast file, then frees `roomBytes` of it again. */
export function fillDisk(dir: string, roomBytes: number): string {
  const ballast = join(dir, 'ballast')
  const fd = openSync(ballast, 'w')
  const chunk = Buffer.alloc(64 * 1024, 0x42)
  let size = 0
  try {
    for (;;) size += writeSync(fd, chunk, 0, chunk.length, size)
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOSPC') throw e
  }
  ftruncateSync(fd, Math.max(0, size - roomBytes))
  closeSync(fd)
  return ballast
}

/** The payload of record `id` in the disk-full scenario: some records outgrow the write buffer. */
export function fullDiskPayload(id: number): Uint8Array {
  return id % 17 === 0 ? payloadFor(id, 6000) : payloadFor(id, 150 + (id % 200))
}

export const FULL_DISK_OPTIONS = { segmentBytes: 48 * 1024, writeBufferBytes: 4096 } as const

export interface DiskFullOutcome {
  /** The head acknowledged when the disk was full (the ballast still there). */
  readonly acknowledgedWhenFull: number
  readonly acknowledged: number
  readonly failures: number
  readonly errnos: string[]
  /** Head and torn bytes a read-only open saw while the disk was full. */
  readonly whileFull: { head: number; recoveredBytes: number; verified: number }
  readonly finalHead: number
}

/**
 * Appends batches to a log on a nearly full file system, each made durable (`sync`) or handed to
 * the OS (`flush`), until writes fail; a failed batch is cut back as Azoth's store does
 * (`truncateAfter`), more batches fail while the disk stays full; then the ballast goes and
 * appends resume. Returns what happened; throws when something went wrong.
 */
export async function runDiskFull(dir: string, durability: 'sync' | 'flush'): Promise<DiskFullOutcome> {
  const logDir = join(dir, 'events')
  const ballast = fillDisk(dir, 160 * 1024)
  let log: FileEventLog = await openFileEventLog(logDir, FULL_DISK_OPTIONS)
  let acknowledged = 0
  let failures = 0
  const errnos: string[] = []
  const commit = async (count: number): Promise<boolean> => {
    const first = log.head() + 1
    const records: Uint8Array[] = []
    for (let i = 0; i < count; i++) records.push(fullDiskPayload(first + i))
    try {
      log.append(first, records)
      await (durability === 'sync' ? log.sync() : log.flush())
      acknowledged = log.head()
      return true
    } catch (e) {
      if (!isAzothError(e, 'IO')) throw e
      failures++
      errnos.push(String(e.details?.['errno']))
      await log.truncateAfter(first - 1) // Must work on a full disk: nothing is written.
      return false
    }
  }
  let batch = 0
  while (await commit(1 + (batch++ % 23))) {
    if (batch > 100_000) throw new Error('the disk never filled up')
  }
  // A rolled-back write frees what it took, so a smaller batch may fit again: go on to more failures.
  for (let i = 0; failures < 6; i++) {
    if (i > 1000) throw new Error('appends kept succeeding on a full disk')
    await commit(1 + (i % 7))
  }
  if (log.head() !== acknowledged)
    throw new Error(`head ${log.head()} after failures, expected ${acknowledged}`)
  const acknowledgedWhenFull = acknowledged
  const reader = await openFileEventLog(logDir, { readOnly: true })
  const whileFull = {
    head: reader.head(),
    recoveredBytes: reader.stats().recoveredBytes,
    verified: reader.verify(),
  }
  await reader.close()
  unlinkSync(ballast)
  const target = acknowledged + 400
  while (log.head() < target) {
    if (!(await commit(1 + (batch++ % 23)))) throw new Error('appends did not resume after space was freed')
  }
  await log.close()
  log = await openFileEventLog(logDir, FULL_DISK_OPTIONS)
  try {
    let expected = 1
    for (const { id, bytes } of log.read()) {
      if (id !== expected) throw new Error(`read ${id} where ${expected} belongs`)
      if (!Buffer.from(bytes).equals(Buffer.from(fullDiskPayload(id))))
        throw new Error(`record ${id} differs`)
      expected++
    }
    if (expected - 1 !== acknowledged)
      throw new Error(`read ${expected - 1} records, acknowledged ${acknowledged}`)
    if (log.stats().recoveredBytes !== 0) throw new Error('the reopened log had a torn tail')
    return { acknowledgedWhenFull, acknowledged, failures, errnos, whileFull, finalHead: log.head() }
  } finally {
    await log.close()
  }
}
