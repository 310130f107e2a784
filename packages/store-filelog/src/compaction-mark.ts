// The compaction mark `<dir>/COMPACTED`: the first id the log keeps, recorded durably before any
// segment below it is deleted, so that open can tell segments the log dropped itself from segments
// that went missing. Layout, big-endian:
//
//   magic "AZOTHCMP" | u32 version | u32 flags | u64 first kept id | u32 crc32c of all before
//
// Flag RESTART: the log was emptied (cut below its oldest id) and starts again at the first kept
// id; until its new segment exists, no segment at all is the expected state.

import { join } from 'node:path'
import { AzothError, CorruptionError } from '@azothdb/core'
import { crc32c, type FileSystem, readEventId, writeEventId } from '@azothdb/core/internal'
import { fsyncDirectory, removeIfPresent, writeFully } from './fs-util.js'
import { readU32, writeU32 } from './segment-format.js'

const FILE = 'COMPACTED'
const TEMP = 'COMPACTED.tmp'
const MAGIC = Buffer.from('AZOTHCMP', 'latin1')
const VERSION = 1
const BYTES = 28
const RESTART = 1

/** What the compaction mark records. */
export interface CompactionMark {
  /** Every id below this was dropped by the log itself. */
  readonly firstId: number
  /** The log was emptied and restarts at `firstId` (no segment yet is expected). */
  readonly restart: boolean
}

/** The path of the mark in `dir`. */
function compactionMarkPath(dir: string): string {
  return join(dir, FILE)
}

/** The path of a mark being written (a leftover of a crash is ignored and removed). */
export function compactionMarkTempPath(dir: string): string {
  return join(dir, TEMP)
}

/**
 * Reads the mark of `dir`: undefined when the log never compacted, `CORRUPTION` naming the file
 * when it is damaged (guessing would let missing segments pass unnoticed).
 */
export function readCompactionMark(fs: FileSystem, dir: string): CompactionMark | undefined {
  const path = compactionMarkPath(dir)
  let b: Buffer
  try {
    b = fs.readFileSync(path)
  } catch (e) {
    const errno = (e as NodeJS.ErrnoException).code
    if (errno === 'ENOENT') return undefined
    throw new AzothError('IO', `cannot read the compaction mark ${path}`, {
      cause: e,
      details: { file: path, ...(errno ? { errno } : {}) },
    })
  }
  const fail = (reason: string): never => {
    throw new CorruptionError(`the compaction mark ${path} is damaged: ${reason}`, {
      details: { file: path, offset: 0, reason },
    })
  }
  if (b.length !== BYTES) fail(`it has ${b.length} bytes, not ${BYTES}`)
  if (readU32(b, BYTES - 4) !== crc32c(b, 0, BYTES - 4)) fail('checksum mismatch')
  if (!b.subarray(0, 8).equals(MAGIC)) fail('bad magic')
  if (readU32(b, 8) !== VERSION) fail(`unsupported version ${readU32(b, 8)}`)
  const flags = readU32(b, 12)
  if ((flags & ~RESTART) !== 0) fail(`unknown flags ${flags}`)
  const firstId = readEventId(b, 16)
  if (!Number.isSafeInteger(firstId) || firstId < 1) fail(`bad first id ${firstId}`)
  return { firstId, restart: (flags & RESTART) !== 0 }
}

/**
 * Records `mark` durably and atomically: a temp file written and fsynced, renamed over the mark,
 * then the directory fsynced. A failure leaves the previous mark in place (the temp file is removed
 * when possible) and is thrown as the raw Node error for the caller to wrap.
 */
export async function writeCompactionMark(fs: FileSystem, dir: string, mark: CompactionMark): Promise<void> {
  const b = Buffer.alloc(BYTES)
  MAGIC.copy(b, 0)
  writeU32(b, 8, VERSION)
  writeU32(b, 12, mark.restart ? RESTART : 0)
  writeEventId(b, 16, mark.firstId)
  writeU32(b, BYTES - 4, crc32c(b, 0, BYTES - 4))
  const temp = compactionMarkTempPath(dir)
  try {
    const fd = fs.openSync(temp, 'w')
    try {
      writeFully(fs, fd, b, 0, BYTES, 0)
      await fs.fsync(fd)
    } finally {
      fs.closeSync(fd)
    }
    await fs.rename(temp, compactionMarkPath(dir))
  } catch (e) {
    removeIfPresent(fs, temp)
    throw e
  }
  await fsyncDirectory(fs, dir)
}
