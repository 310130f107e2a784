// V8 keeps a Uint8Array of up to 64 bytes on the JS heap, but gives a larger one its own
// off-heap backing store: ~300-500 ns per allocation here, against ~30-50 ns for a view into a
// shared slab. Encoders whose outputs are short-lived (envelopes, state values on their way into
// LMDB) take their bytes from here. Like Buffer.allocUnsafe's pool, a slab stays alive while any
// view into it does, and its views share one ArrayBuffer (so do not transfer `bytes.buffer`).

const ON_HEAP_MAX = 64
const SLAB_BYTES = 64 * 1024
const SLAB_ITEM_MAX = 4096

let slab = new ArrayBuffer(SLAB_BYTES)
let used = 0

/**
 * A zero-filled byte array of length `n`, a view into a shared slab when that pays off (over 64
 * and up to 4096 bytes). For short-lived or caller-owned copies on hot paths; the bytes are the
 * caller's, but views share their `buffer`, so never transfer or resize `bytes.buffer`.
 */
export function allocateBytes(n: number): Uint8Array {
  if (n <= ON_HEAP_MAX || n > SLAB_ITEM_MAX) return new Uint8Array(n)
  if (used + n > SLAB_BYTES) {
    // A fresh ArrayBuffer is zero-filled, and views never overlap: no byte is handed out twice.
    slab = new ArrayBuffer(SLAB_BYTES)
    used = 0
  }
  const bytes = new Uint8Array(slab, used, n)
  used += (n + 7) & ~7
  return bytes
}
