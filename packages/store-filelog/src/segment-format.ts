// The on-disk layout of a segment file. All integers are big-endian.
//
//   header (32 bytes): magic "AZOTHSEG" | u32 format version | u32 flags (0) | u64 first id |
//                      u32 reserved (0) | u32 crc32c of bytes 0..28
//   record:            u64 id | u32 length | u32 crc32c(id, length, bytes) | bytes
//
// The record checksum covers the id and length too, so a torn or flipped length is caught rather
// than sending the reader off to a wrong offset.

import { CorruptionError } from '@azothdb/core'
import { crc32c, readEventId, writeEventId } from '@azothdb/core/internal'

/** Bytes of a segment header. */
export const SEGMENT_HEADER_BYTES = 32
/** Bytes before a record's payload: id, length, checksum. */
export const RECORD_HEADER_BYTES = 16
/** The segment format this code writes and reads. */
export const SEGMENT_FORMAT_VERSION = 1

const MAGIC = [0x41, 0x5a, 0x4f, 0x54, 0x48, 0x53, 0x45, 0x47] // "AZOTHSEG"
const SEGMENT_SUFFIX = '.seg'
const SEGMENT_NAME = /^(\d{20})\.seg$/

/** A segment's file name: its first id, zero-padded so names sort in id order. */
export function segmentFileName(firstId: number): string {
  return String(firstId).padStart(20, '0') + SEGMENT_SUFFIX
}

/** The first id a segment file name declares, or undefined when `name` is not a segment file. */
export function parseSegmentFileName(name: string): number | undefined {
  const m = SEGMENT_NAME.exec(name)
  if (!m) return undefined
  const id = Number(m[1])
  return Number.isSafeInteger(id) && id >= 1 ? id : undefined
}

/** The 32-byte header of a segment starting at `firstId`. */
export function encodeSegmentHeader(firstId: number): Uint8Array {
  const h = new Uint8Array(SEGMENT_HEADER_BYTES)
  h.set(MAGIC, 0)
  writeU32(h, 8, SEGMENT_FORMAT_VERSION)
  writeEventId(h, 16, firstId)
  writeU32(h, 28, crc32c(h, 0, 28))
  return h
}

/** Checks a segment header and returns its first id; `CORRUPTION` naming the file otherwise. */
export function decodeSegmentHeader(h: Uint8Array, file: string): number {
  const fail = (reason: string): never => {
    throw new CorruptionError(`segment header of ${file} is damaged: ${reason}`, {
      details: { file, offset: 0, reason },
    })
  }
  if (h.length < SEGMENT_HEADER_BYTES) fail('file shorter than a header')
  if (readU32(h, 28) !== crc32c(h, 0, 28)) fail('header checksum mismatch')
  for (let i = 0; i < MAGIC.length; i++) if (h[i] !== MAGIC[i]) fail('bad magic')
  const version = readU32(h, 8)
  if (version !== SEGMENT_FORMAT_VERSION) fail(`unsupported format version ${version}`)
  const firstId = readEventId(h, 16)
  if (firstId < 1) fail('bad first id')
  return firstId
}

/**
 * Writes the id and length of a record whose `length` payload bytes sit right after its header in
 * `buf`; its checksum comes later ({@link writeRecordChecksum} or a bulk seal).
 */
export function writeRecordIdAndLength(buf: Uint8Array, offset: number, id: number, length: number): void {
  writeEventId(buf, offset, id)
  writeU32(buf, offset + 8, length)
}

/** Writes the checksum of the record at `offset` of `buf` (id, length and payload in place). */
export function writeRecordChecksum(buf: Uint8Array, offset: number, length: number): void {
  const c = crc32c(buf, offset, offset + 12)
  const payload = offset + RECORD_HEADER_BYTES
  writeU32(buf, offset + 12, crc32c(buf, payload, payload + length, c))
}

/** Writes the whole header of a record whose `length` payload bytes sit right after it in `buf`. */
export function writeRecordHeader(buf: Uint8Array, offset: number, id: number, length: number): void {
  writeRecordIdAndLength(buf, offset, id, length)
  writeRecordChecksum(buf, offset, length)
}

/** True when the record at `offset` of `buf` (header and payload present) matches its checksum. */
export function recordChecksumMatches(buf: Uint8Array, offset: number, length: number): boolean {
  const c = crc32c(buf, offset, offset + 12)
  const payload = offset + RECORD_HEADER_BYTES
  return crc32c(buf, payload, payload + length, c) === readU32(buf, offset + 12)
}

/** Reads a big-endian u32. */
export function readU32(b: Uint8Array, o: number): number {
  return ((b[o]! << 24) | (b[o + 1]! << 16) | (b[o + 2]! << 8) | b[o + 3]!) >>> 0
}

/** Writes a big-endian u32. */
export function writeU32(b: Uint8Array, o: number, v: number): void {
  b[o] = v >>> 24
  b[o + 1] = (v >>> 16) & 0xff
  b[o + 2] = (v >>> 8) & 0xff
  b[o + 3] = v & 0xff
}
