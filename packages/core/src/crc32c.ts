// CRC-32C (Castagnoli, reflected polynomial 0x82F63B78), table-driven slice-by-16. Node 20 has no
// built-in CRC32C, and this runs on every record written and read, so it consumes 16 bytes per step
// with sixteen 256-entry tables (one flat array) instead of one byte at a time.

const POLY = 0x82f63b78
const T = buildTables()

/** The sixteen slice-by-16 tables, 256 entries each, table k at k * 256. */
export const CRC32C_TABLES: Readonly<Int32Array> = T

function buildTables(): Int32Array {
  const t = new Int32Array(256 * 16)
  for (let i = 0; i < 256; i++) {
    let c = i
    for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ POLY : c >>> 1
    t[i] = c
  }
  for (let i = 0; i < 256; i++) {
    for (let k = 1; k < 16; k++) {
      const prev = t[(k - 1) * 256 + i]!
      t[k * 256 + i] = (prev >>> 8) ^ t[prev & 0xff]!
    }
  }
  return t
}

/**
 * CRC-32C of `data[start, end)`, continuing from `previous` (the CRC of the bytes before, 0 to
 * start). `crc32c(b, 0, n, crc32c(a))` equals the CRC of `a` followed by `b`.
 */
export function crc32c(data: Uint8Array, start = 0, end = data.length, previous = 0): number {
  const t = T
  let crc = ~previous
  let i = start
  const fast = end - 16
  while (i <= fast) {
    const a = crc ^ (data[i]! | (data[i + 1]! << 8) | (data[i + 2]! << 16) | (data[i + 3]! << 24))
    crc =
      t[3840 + (a & 0xff)]! ^
      t[3584 + ((a >>> 8) & 0xff)]! ^
      t[3328 + ((a >>> 16) & 0xff)]! ^
      t[3072 + (a >>> 24)]! ^
      t[2816 + data[i + 4]!]! ^
      t[2560 + data[i + 5]!]! ^
      t[2304 + data[i + 6]!]! ^
      t[2048 + data[i + 7]!]! ^
      t[1792 + data[i + 8]!]! ^
      t[1536 + data[i + 9]!]! ^
      t[1280 + data[i + 10]!]! ^
      t[1024 + data[i + 11]!]! ^
      t[768 + data[i + 12]!]! ^
      t[512 + data[i + 13]!]! ^
      t[256 + data[i + 14]!]! ^
      t[data[i + 15]!]!
    i += 16
  }
  // Four bytes per step for the rest: the keys and small values of state entries are all rest.
  const fast4 = end - 4
  while (i <= fast4) {
    const a = crc ^ (data[i]! | (data[i + 1]! << 8) | (data[i + 2]! << 16) | (data[i + 3]! << 24))
    crc = t[768 + (a & 0xff)]! ^ t[512 + ((a >>> 8) & 0xff)]! ^ t[256 + ((a >>> 16) & 0xff)]! ^ t[a >>> 24]!
    i += 4
  }
  while (i < end) {
    crc = t[(crc ^ data[i]!) & 0xff]! ^ (crc >>> 8)
    i++
  }
  return ~crc >>> 0
}
