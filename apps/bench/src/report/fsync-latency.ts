import { closeSync, fdatasyncSync, mkdtempSync, openSync, rmSync, writeSync } from 'node:fs'
import { join } from 'node:path'
import type { FsyncLatency } from '../bench-report.js'

const RECORD_BYTES = 100

/**
 * Measures what one small durable write costs on the disk holding `dir`: `count` times, write a
 * 100-byte record at the end of a file and `fdatasync` it, each timed alone. Every durable commit
 * of every side pays at least this, so the report states it next to the figures it bounds.
 */
export function measureFsyncLatency(dir: string, count: number): FsyncLatency {
  const scratch = mkdtempSync(join(dir, 'azoth-bench-fsync-'))
  const record = Buffer.alloc(RECORD_BYTES, 0x61)
  const micros = new Float64Array(count)
  const fd = openSync(join(scratch, 'fsync.log'), 'w')
  try {
    for (let i = 0; i < count; i++) {
      const t0 = process.hrtime.bigint()
      writeSync(fd, record, 0, RECORD_BYTES, i * RECORD_BYTES)
      fdatasyncSync(fd)
      micros[i] = Number(process.hrtime.bigint() - t0) / 1e3
    }
  } finally {
    closeSync(fd)
    rmSync(scratch, { recursive: true, force: true })
  }
  micros.sort()
  const at = (p: number) => micros[Math.min(count - 1, Math.floor(p * count))] ?? Number.NaN
  return {
    path: dir,
    writeBytes: RECORD_BYTES,
    count,
    p50Us: at(0.5),
    p99Us: at(0.99),
    minUs: micros[0] ?? Number.NaN,
    maxUs: micros[count - 1] ?? Number.NaN,
  }
}
