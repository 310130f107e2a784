const encoder = new TextEncoder()
const fatalDecoder = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true })

/** UTF-8 bytes of a string. */
export function utf8Encode(s: string): Uint8Array {
  return encoder.encode(s)
}

/** Number of UTF-8 bytes `s` encodes to, without encoding it. */
export function utf8Length(s: string): number {
  let n = 0
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i)
    if (c < 0x80) n += 1
    else if (c < 0x800) n += 2
    else if (c >= 0xd800 && c <= 0xdbff && i + 1 < s.length) {
      const d = s.charCodeAt(i + 1)
      if (d >= 0xdc00 && d <= 0xdfff) {
        n += 4
        i++
      } else n += 3
    } else n += 3
  }
  return n
}

/**
 * Decodes UTF-8 strictly; returns undefined for invalid bytes so callers raise their own error.
 * Short ASCII strings (event types, keys) skip TextDecoder, which costs more than the loop.
 */
export function utf8DecodeStrict(bytes: Uint8Array, start = 0, end = bytes.length): string | undefined {
  if (end - start <= 64) {
    let s = ''
    let ascii = true
    for (let i = start; i < end; i++) {
      const b = bytes[i]!
      if (b >= 0x80) {
        ascii = false
        break
      }
      s += String.fromCharCode(b)
    }
    if (ascii) return s
  }
  try {
    return fatalDecoder.decode(bytes.subarray(start, end))
  } catch {
    return undefined
  }
}
