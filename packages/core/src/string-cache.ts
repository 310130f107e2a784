/**
 * Recently decoded short strings (event types, map keys), found by a hash of their bytes: a repeat
 * costs a hash and a byte comparison instead of a new string. One entry per slot; a collision
 * replaces the older entry.
 */
export class StringCache {
  private readonly bytes: (Uint8Array | undefined)[]
  private readonly strings: string[]
  private readonly mask: number
  /** The slot of the bytes last looked up, where {@link set} stores. */
  private slot = 0
  /** The slot of the last hit. */
  private lastHit = 0

  /** `slotsLog2`: the cache holds 2^slotsLog2 entries. */
  constructor(slotsLog2: number) {
    this.mask = (1 << slotsLog2) - 1
    this.bytes = new Array<Uint8Array | undefined>(this.mask + 1)
    this.strings = new Array<string>(this.mask + 1)
  }

  /** The cached string of `b[start, end)`, or undefined. */
  get(b: Uint8Array, start: number, end: number): string | undefined {
    // Runs of one string (one event type after another) are common: the last hit goes first,
    // unhashed, in a method small enough to be inlined where it is called.
    const last = this.bytes[this.lastHit]
    if (last !== undefined && this.matches(last, b, start, end)) return this.strings[this.lastHit]
    return this.lookup(b, start, end)
  }

  private lookup(b: Uint8Array, start: number, end: number): string | undefined {
    let h = 0x811c9dc5
    for (let i = start; i < end; i++) h = Math.imul(h ^ b[i]!, 0x01000193)
    const slot = (h ^ (h >>> 16)) & this.mask
    this.slot = slot
    const known = this.bytes[slot]
    if (known === undefined || !this.matches(known, b, start, end)) return undefined
    this.lastHit = slot
    return this.strings[slot]
  }

  private matches(known: Uint8Array, b: Uint8Array, start: number, end: number): boolean {
    if (known.length !== end - start) return false
    for (let i = 0; i < known.length; i++) if (known[i] !== b[start + i]) return false
    return true
  }

  /** Caches `value` as the string of `b[start, end)`, right after a {@link get} of those bytes missed. */
  set(b: Uint8Array, start: number, end: number, value: string): void {
    // A copy made by hand: on a Buffer, `slice` returns a view, and the caller may reuse its buffer.
    const n = end - start
    const copy = new Uint8Array(n)
    for (let i = 0; i < n; i++) copy[i] = b[start + i]!
    this.bytes[this.slot] = copy
    this.strings[this.slot] = value
    this.lastHit = this.slot
  }
}

/**
 * The last string decoded from a run of bytes, kept with a copy of them in a buffer of its own:
 * the same bytes next time give the same string without decoding it (nor allocating anything).
 * For values that come in runs, where a hashed {@link StringCache} would cost a hash per miss.
 */
export class LastString {
  private readonly bytes: Uint8Array
  private length = -1
  private value = ''

  /** `maxBytes`: longer strings are not kept. */
  constructor(maxBytes: number) {
    this.bytes = new Uint8Array(maxBytes)
  }

  /** The string last kept for `b[start, end)`, or undefined. */
  get(b: Uint8Array, start: number, end: number): string | undefined {
    const n = end - start
    if (n !== this.length) return undefined
    const known = this.bytes
    for (let i = 0; i < n; i++) if (known[i] !== b[start + i]) return undefined
    return this.value
  }

  /** Keeps `value` as the string of `b[start, end)` (when it fits). */
  set(b: Uint8Array, start: number, end: number, value: string): void {
    const n = end - start
    if (n > this.bytes.length) return
    for (let i = 0; i < n; i++) this.bytes[i] = b[start + i]!
    this.length = n
    this.value = value
  }
}
