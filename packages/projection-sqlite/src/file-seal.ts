// SQLite keeps no checksums of its pages: a flipped bit in a row's value reads back as data, a silent
// wrong answer. A seal is the next best thing an embedded library can do without its own VFS: when the
// only connection to the file closes cleanly, the file is checksummed block by block into a sidecar
// (`<file>-seal`); the next open verifies the file against it before SQLite reads a page, and the
// first write afterwards removes it. A file that was not closed cleanly (a crash, a writer still open)
// has no seal and opens unverified.
import {
  closeSync,
  existsSync,
  openSync,
  readFileSync,
  readSync,
  renameSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs'
import { basename, dirname } from 'node:path'
import { AzothError, CorruptionError, type Logger } from '@azothdb/core'
import { crc32c, fsyncPathSync } from '@azothdb/core/internal'

const MAGIC = 0x4c414553 // 'SEAL' read as a little-endian u32
const FORMAT = 1
/** Bytes of the file per checksum: a damaged block is named to the operator by its offset. */
const BLOCK_BYTES = 64 * 1024
/** magic, format, block bytes, file size (u64), block count. */
const HEADER_BYTES = 24

/** What an open learned from a file's seal. */
export type SealCheck =
  /** The file holds exactly what it held at its last clean close. */
  | 'verified'
  /** No seal: the last writer did not close cleanly, or the file is new. */
  | 'unsealed'
  /** A seal that no longer describes the file (it was replaced, or written after the seal): ignored. */
  | 'stale'

/** The sidecar holding the seal of the SQLite file at `path`. */
export function sealPathOf(path: string): string {
  return `${path}-seal`
}

/**
 * Checks the file at `path` against its seal. A seal that is itself damaged, or a file whose size
 * or bytes differ from it, is `CORRUPTION` naming the first damaged block; a missing seal, or one a
 * writer in another process made stale while this ran, is not.
 */
export function checkSeal(path: string, logger: Logger): SealCheck {
  try {
    return checkSealOrThrow(path, logger)
  } catch (e) {
    if (e instanceof AzothError) throw e
    throw new AzothError('IO', `cannot check ${path} against its seal`, { cause: e, details: { path } })
  }
}

function checkSealOrThrow(path: string, logger: Logger): SealCheck {
  const sealPath = sealPathOf(path)
  const seal = readSealFile(sealPath)
  if (seal === undefined) return 'unsealed'
  const sums = parseSeal(seal, sealPath)
  // Pages in a WAL override the file's; a sealed file never has one with frames in it.
  if (!existsSync(path) || walHasFrames(path)) {
    logger.warn(
      { path, seal: sealPath },
      'the SQLite file changed after its seal was written; opening it unverified',
    )
    return 'stale'
  }
  let damaged: number | undefined
  try {
    damaged = firstDamagedBlock(path, sums)
  } catch (e) {
    // A writer elsewhere may have changed the file under us (shrunk it): then the seal is gone too.
    if (sealReplaced(sealPath, seal)) return 'stale'
    throw e
  }
  if (damaged === undefined) return 'verified'
  // A writer elsewhere removes the seal before its first write: if it is gone, the file changed under us.
  if (sealReplaced(sealPath, seal)) return 'stale'
  const at =
    damaged === -1 ? { size: sizeOf(path), sealedSize: sums.size } : { offset: damaged * BLOCK_BYTES }
  throw new CorruptionError(
    `${path} is damaged: ${damaged === -1 ? `it is ${at.size} bytes, it was ${sums.size} at its last clean close` : `bytes ${damaged * BLOCK_BYTES}..${(damaged + 1) * BLOCK_BYTES - 1} differ from their checksum at its last clean close`}; restore it from a backup, or delete it and rebuild the projections from the events (if it was changed on purpose outside Azoth, delete ${basename(sealPath)} instead)`,
    { details: { where: path, ...at } },
  )
}

/**
 * Seals the file at `path` after its last connection closed. Nothing is sealed while another
 * connection holds the file (its WAL is still there): that one may write. Returns whether it sealed;
 * a failure (a full disk) is logged and leaves the file unsealed, never half-sealed.
 */
export function writeSeal(path: string, logger: Logger): boolean {
  const sealPath = sealPathOf(path)
  if (existsSync(`${path}-wal`)) return false
  const temp = `${sealPath}.tmp`
  try {
    writeFileSync(temp, sealOf(path))
    fsyncPathSync(temp)
    renameSync(temp, sealPath)
    fsyncPathSync(dirname(path))
    // Another connection that opened while the file was read may write without knowing of this seal.
    if (existsSync(`${path}-wal`)) {
      removeSeal(path)
      return false
    }
    return true
  } catch (e) {
    logger.warn({ err: e, path }, 'could not seal the SQLite file; its next open is unverified')
    try {
      rmSync(temp, { force: true })
    } catch (cleanup) {
      logger.warn(
        { err: cleanup, path: temp },
        'could not remove a half-written seal (never read: not the seal)',
      )
    }
    return false
  }
}

/** Removes the seal before the file is written (durably: a stale seal would make the next open fail). */
export function removeSeal(path: string): void {
  const sealPath = sealPathOf(path)
  try {
    if (!existsSync(sealPath)) return
    rmSync(sealPath, { force: true })
    fsyncPathSync(dirname(path))
  } catch (e) {
    throw new AzothError('IO', `cannot remove ${sealPath} before writing ${path}`, {
      cause: e,
      details: { path: sealPath },
    })
  }
}

/** Whether the seal at `sealPath` is no longer the one read before (removed or rewritten). */
function sealReplaced(sealPath: string, seal: Buffer): boolean {
  const now = readSealFile(sealPath)
  return now === undefined || !now.equals(seal)
}

/** Whether the WAL beside `path` holds frames: pages written since the last checkpoint. */
export function walHasFrames(path: string): boolean {
  try {
    return statSync(`${path}-wal`).size > 0
  } catch (e) {
    // No WAL file: nothing was written. Anything else: assume a write, which only drops the seal.
    return (e as NodeJS.ErrnoException).code !== 'ENOENT'
  }
}

interface SealSums {
  readonly size: number
  readonly sums: Uint32Array
}

function sealOf(path: string): Uint8Array {
  const size = statSync(path).size
  const count = Math.ceil(size / BLOCK_BYTES)
  const out = Buffer.alloc(HEADER_BYTES + count * 4 + 4)
  out.writeUInt32LE(MAGIC, 0)
  out.writeUInt32LE(FORMAT, 4)
  out.writeUInt32LE(BLOCK_BYTES, 8)
  out.writeBigUInt64LE(BigInt(size), 12)
  out.writeUInt32LE(count, 20)
  forEachBlock(path, size, (index, crc) => out.writeUInt32LE(crc, HEADER_BYTES + index * 4))
  out.writeUInt32LE(crc32c(out, 0, out.length - 4), out.length - 4)
  return out
}

function parseSeal(seal: Buffer, sealPath: string): SealSums {
  const count = seal.length >= HEADER_BYTES ? seal.readUInt32LE(20) : -1
  const intact =
    count >= 0 &&
    seal.length === HEADER_BYTES + count * 4 + 4 &&
    seal.readUInt32LE(0) === MAGIC &&
    crc32c(seal, 0, seal.length - 4) === seal.readUInt32LE(seal.length - 4)
  if (!intact || seal.readUInt32LE(4) !== FORMAT || seal.readUInt32LE(8) !== BLOCK_BYTES) {
    throw new CorruptionError(
      `${sealPath} is damaged, so the file it seals cannot be checked; delete it to open that file unverified`,
      { details: { where: sealPath } },
    )
  }
  const size = Number(seal.readBigUInt64LE(12))
  const sums = new Uint32Array(count)
  for (let i = 0; i < count; i++) sums[i] = seal.readUInt32LE(HEADER_BYTES + i * 4)
  return { size, sums }
}

/** The index of the first block whose checksum differs, -1 for a file of another size, undefined if intact. */
function firstDamagedBlock(path: string, sealed: SealSums): number | undefined {
  const size = sizeOf(path)
  if (size !== sealed.size || Math.ceil(size / BLOCK_BYTES) !== sealed.sums.length) return -1
  let damaged: number | undefined
  forEachBlock(path, size, (index, crc) => {
    if (damaged === undefined && crc !== sealed.sums[index]) damaged = index
  })
  return damaged
}

/** Calls `each` with every block's CRC-32C, reading the file a megabyte at a time. */
function forEachBlock(path: string, size: number, each: (index: number, crc: number) => void): void {
  const buffer = Buffer.allocUnsafe(16 * BLOCK_BYTES)
  const fd = openSync(path, 'r')
  try {
    let position = 0
    while (position < size) {
      const want = Math.min(buffer.length, size - position)
      let got = 0
      while (got < want) {
        const n = readSync(fd, buffer, got, want - got, position + got)
        if (n === 0) throw new AzothError('IO', `${path} ended at ${position + got} while being read`)
        got += n
      }
      for (let start = 0; start < got; start += BLOCK_BYTES) {
        const end = Math.min(start + BLOCK_BYTES, got)
        each((position + start) / BLOCK_BYTES, crc32c(buffer, start, end))
      }
      position += got
    }
  } finally {
    closeSync(fd)
  }
}

function readSealFile(sealPath: string): Buffer | undefined {
  try {
    return readFileSync(sealPath)
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined
    throw new AzothError('IO', `cannot read ${sealPath}`, { cause: e, details: { path: sealPath } })
  }
}

function sizeOf(path: string): number {
  try {
    return statSync(path).size
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return -1
    throw new AzothError('IO', `cannot read ${path}`, { cause: e, details: { path } })
  }
}
