// Checks the checksums of many events of a chunk in one call. Checked one by one in JavaScript,
// the CRC of a 110-byte event costs about as much as the rest of reading it; the same slice-by-16
// in WebAssembly, over two events side by side, runs two to three times as fast. The chunk is
// copied into the module's scratch memory first (a memcpy, cheap next to the CRC).

import { CRC32C_TABLES } from '@azothdb/core/internal'
import { CHUNK_CHECKSUMS_WASM } from './chunk-checksums-wasm.js'

/** Matches SCRATCH_BASE and SCRATCH_BYTES in scripts/chunk-checksums-wat.ts. */
export const SCRATCH_BASE = 65_536
export const SCRATCH_BYTES = 2 * 1024 * 1024

interface Checksummer {
  readonly memory: Uint8Array
  verify(base: number, len: number, hi: number, lo: number, from: number, to: number): number
}

/** The part of the WebAssembly API used here (Node's types omit it without the DOM lib). */
interface WasmApi {
  Module: new (bytes: Uint8Array) => object
  Instance: new (
    module: object,
  ) => {
    exports: { memory: { buffer: ArrayBuffer }; verify: Checksummer['verify'] }
  }
}

let module: object | undefined
let instance: Checksummer | undefined

/** The compiled checksum module (compiled once; the read-ahead worker instantiates it too). */
export function checksumModule(): object {
  if (module === undefined) {
    const wasm = (globalThis as unknown as { WebAssembly: WasmApi }).WebAssembly
    module = new wasm.Module(Buffer.from(CHUNK_CHECKSUMS_WASM, 'base64'))
  }
  return module
}

function checksummer(): Checksummer {
  if (instance !== undefined) return instance
  const wasm = (globalThis as unknown as { WebAssembly: WasmApi }).WebAssembly
  const { exports } = new wasm.Instance(checksumModule())
  // The memory has a fixed size (no grow), so these views stay valid.
  new Int32Array(exports.memory.buffer, 0, CRC32C_TABLES.length).set(CRC32C_TABLES)
  instance = { memory: new Uint8Array(exports.memory.buffer), verify: exports.verify }
  return instance
}

/**
 * Checks events `from` to `to - 1` of the chunk `value` (first id `firstId`, its count already
 * checked against its length). Returns the index of the first of them whose offsets or checksum
 * are wrong, `to` when all are intact, or `from` when the chunk is larger than the scratch (the
 * caller then checks each event itself). Only what the check reads is copied: the chunk's header
 * and the bytes of those events, each at its place, so a few events of a chunk cost a few copies.
 */
export function verifyChunkEvents(value: Uint8Array, firstId: number, from: number, to: number): number {
  const length = value.length
  if (length > SCRATCH_BYTES) return from
  const c = checksummer()
  const view = new DataView(value.buffer, value.byteOffset, length)
  const dataStart = 4 + 8 * view.getUint32(0)
  // Every byte the check may read: between the lowest and the highest stored offset of those
  // events (damaged offsets need not rise; an event whose bounds are out of order or outside the
  // data is reported before its bytes are read), clamped to the value.
  let low = from === 0 ? 0 : view.getUint32(4 * from)
  let high = low
  for (let k = from; k < to; k++) {
    const end = view.getUint32(4 + 4 * k)
    if (end < low) low = end
    else if (end > high) high = end
  }
  const start = Math.min(length, dataStart + low)
  const end = Math.min(length, dataStart + high)
  const bytes = new Uint8Array(value.buffer, value.byteOffset, length)
  c.memory.set(bytes.subarray(0, dataStart), SCRATCH_BASE)
  c.memory.set(bytes.subarray(start, end), SCRATCH_BASE + start)
  return c.verify(SCRATCH_BASE, length, Math.floor(firstId / 0x1_0000_0000), firstId >>> 0, from, to)
}
