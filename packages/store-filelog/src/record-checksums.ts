// Checks and writes the checksums of many records per call. A JavaScript CRC-32C tops out near
// 1 GB/s, which made checksums the larger half of reading and appending 100-byte records; the same
// slice-by-16 in WebAssembly, over two records at a time, runs two to three times as fast, and
// one call covers a whole read chunk or write buffer. Records are copied into the module's scratch memory (a memcpy, cheap next to the
// CRC). Records larger than the scratch take the JavaScript path.

import { CRC32C_TABLES } from '@azothdb/core/internal'
import { RECORD_CHECKSUMS_WASM } from './record-checksums-wasm.js'
import { RECORD_HEADER_BYTES, readU32, recordChecksumMatches, writeRecordChecksum } from './segment-format.js'

/** Matches SCRATCH_BASE and SCRATCH_BYTES in scripts/crc32c-wat.ts. */
export const SCRATCH_BASE = 65_536
export const SCRATCH_BYTES = 1024 * 1024

interface Checksummer {
  readonly memory: Uint8Array
  verify(start: number, end: number): number
  seal(start: number, end: number): number
}

/** The part of the WebAssembly API used here (Node's types omit it without the DOM lib). */
interface WasmApi {
  Module: new (bytes: Uint8Array) => object
  Instance: new (
    module: object,
  ) => {
    exports: { memory: { buffer: ArrayBuffer }; verify: Checksummer['verify']; seal: Checksummer['seal'] }
  }
}

let module: object | undefined
let instance: Checksummer | undefined

/** The compiled module (also handed to the checksum worker, which instantiates its own copy). */
export function checksumModule(): object {
  if (module === undefined) {
    const wasm = (globalThis as unknown as { WebAssembly: WasmApi }).WebAssembly
    module = new wasm.Module(Buffer.from(RECORD_CHECKSUMS_WASM, 'base64'))
  }
  return module
}

function checksummer(): Checksummer {
  if (instance !== undefined) return instance
  const wasm = (globalThis as unknown as { WebAssembly: WasmApi }).WebAssembly
  const { exports } = new wasm.Instance(checksumModule())
  // The memory has a fixed size (no grow), so these views stay valid.
  new Int32Array(exports.memory.buffer, 0, CRC32C_TABLES.length).set(CRC32C_TABLES)
  instance = { memory: new Uint8Array(exports.memory.buffer), verify: exports.verify, seal: exports.seal }
  return instance
}

/**
 * Checks the records laid out from `start` in `buf` up to `end`. Returns the offset of the first
 * record that is not whole before `end` or whose checksum does not match (`end` when all are
 * good): every record in `[start, result)` is whole and intact.
 */
export function verifyRecords(buf: Uint8Array, start: number, end: number): number {
  const c = checksummer()
  let o = start
  while (end - o >= RECORD_HEADER_BYTES) {
    const n = Math.min(end - o, SCRATCH_BYTES)
    c.memory.set(buf.subarray(o, o + n), SCRATCH_BASE)
    const done = c.verify(SCRATCH_BASE, SCRATCH_BASE + n) - SCRATCH_BASE
    o += done
    if (done === n) continue
    if (end - o < RECORD_HEADER_BYTES) return o
    const length = readU32(buf, o + 8)
    const recordEnd = o + RECORD_HEADER_BYTES + length
    if (recordEnd > end) return o // torn: not whole in `buf`
    if (recordEnd <= o - done + n) return o // whole in the piece it was given: checksum mismatch
    if (RECORD_HEADER_BYTES + length > SCRATCH_BYTES) {
      if (!recordChecksumMatches(buf, o, length)) return o
      o = recordEnd
    }
    // Otherwise it crossed the end of the piece: the next piece starts with it.
  }
  return o
}

/** Writes the checksum of every record in `buf[start, end)`, which must hold whole records only. */
export function sealRecords(buf: Uint8Array, start: number, end: number): void {
  const c = checksummer()
  let o = start
  while (o < end) {
    const n = Math.min(end - o, SCRATCH_BYTES)
    c.memory.set(buf.subarray(o, o + n), SCRATCH_BASE)
    const done = c.seal(SCRATCH_BASE, SCRATCH_BASE + n) - SCRATCH_BASE
    buf.set(c.memory.subarray(SCRATCH_BASE, SCRATCH_BASE + done), o)
    o += done
    if (done === 0) {
      // Larger than the scratch (whole records only, so it cannot be torn).
      const length = readU32(buf, o + 8)
      writeRecordChecksum(buf, o, length)
      o += RECORD_HEADER_BYTES + length
    }
  }
}
