/**
 * An event's position in the log: a safe integer, 1 for the first event, gapless and increasing in
 * commit order. A cursor of 0 means nothing applied yet. Stored on disk as u64 big-endian.
 */
export type EventId = number

/** Writes `id` as 8 bytes big-endian at `offset`. */
export function writeEventId(target: Uint8Array, offset: number, id: EventId): void {
  const hi = Math.floor(id / 0x1_0000_0000)
  const lo = id >>> 0
  target[offset] = hi >>> 24
  target[offset + 1] = (hi >>> 16) & 0xff
  target[offset + 2] = (hi >>> 8) & 0xff
  target[offset + 3] = hi & 0xff
  target[offset + 4] = lo >>> 24
  target[offset + 5] = (lo >>> 16) & 0xff
  target[offset + 6] = (lo >>> 8) & 0xff
  target[offset + 7] = lo & 0xff
}

/** Reads 8 bytes big-endian at `offset`; returns -1 when the value is not a safe integer. */
export function readEventId(source: Uint8Array, offset: number): EventId {
  const hi =
    ((source[offset]! << 24) |
      (source[offset + 1]! << 16) |
      (source[offset + 2]! << 8) |
      source[offset + 3]!) >>>
    0
  const lo =
    ((source[offset + 4]! << 24) |
      (source[offset + 5]! << 16) |
      (source[offset + 6]! << 8) |
      source[offset + 7]!) >>>
    0
  if (hi > 0x1f_ffff) return -1
  return hi * 0x1_0000_0000 + lo
}

/** The 8-byte big-endian form of an id, as used for LMDB keys. */
export function eventIdBytes(id: EventId): Uint8Array {
  const out = new Uint8Array(8)
  writeEventId(out, 0, id)
  return out
}

/** True for a valid event id (a positive safe integer). */
export function isEventId(n: unknown): n is EventId {
  return typeof n === 'number' && Number.isSafeInteger(n) && n >= 1
}
