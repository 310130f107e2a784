import { Decoder, Encoder } from 'cbor-x'

const enc = new Encoder({
  useRecords: false,
  mapsAsObjects: true,
  variableMapSize: true,
  tagUint8Array: true,
})
const dec = new Decoder({ useRecords: false, mapsAsObjects: true, copyBuffers: true })
const FALLBACK = Symbol('fallback')
let pos = 0
const keyCache: (string | undefined)[] = new Array(1024)
const keyBytes: (Uint8Array | undefined)[] = new Array(1024)
function readKey(b: Uint8Array, end: number): string | typeof FALLBACK {
  const h = b[pos]!
  if (h < 0x60 || h > 0x77) return FALLBACK
  const n = h - 0x60
  const s = pos + 1
  if (s + n > end) return FALLBACK
  let hash = n
  for (let i = 0; i < n; i++) {
    const c = b[s + i]!
    if (c >= 0x80) return FALLBACK
    hash = (hash * 31 + c) | 0
  }
  const slot = hash & 1023
  const kb = keyBytes[slot]
  pos = s + n
  if (kb !== undefined && kb.length === n) {
    let same = true
    for (let i = 0; i < n; i++)
      if (kb[i] !== b[s + i]) {
        same = false
        break
      }
    if (same) return keyCache[slot]!
  }
  const key = ascii(b, s, n)
  keyBytes[slot] = b.slice(s, s + n)
  keyCache[slot] = key
  return key
}
const fcc = String.fromCharCode
function ascii(b: Uint8Array, s: number, n: number): string {
  if (n <= 12) {
    switch (n) {
      case 0:
        return ''
      case 1:
        return fcc(b[s]!)
      case 2:
        return fcc(b[s]!, b[s + 1]!)
      case 3:
        return fcc(b[s]!, b[s + 1]!, b[s + 2]!)
      case 4:
        return fcc(b[s]!, b[s + 1]!, b[s + 2]!, b[s + 3]!)
      case 5:
        return fcc(b[s]!, b[s + 1]!, b[s + 2]!, b[s + 3]!, b[s + 4]!)
      case 6:
        return fcc(b[s]!, b[s + 1]!, b[s + 2]!, b[s + 3]!, b[s + 4]!, b[s + 5]!)
      case 7:
        return fcc(b[s]!, b[s + 1]!, b[s + 2]!, b[s + 3]!, b[s + 4]!, b[s + 5]!, b[s + 6]!)
      case 8:
        return fcc(b[s]!, b[s + 1]!, b[s + 2]!, b[s + 3]!, b[s + 4]!, b[s + 5]!, b[s + 6]!, b[s + 7]!)
      case 9:
        return fcc(
          b[s]!,
          b[s + 1]!,
          b[s + 2]!,
          b[s + 3]!,
          b[s + 4]!,
          b[s + 5]!,
          b[s + 6]!,
          b[s + 7]!,
          b[s + 8]!,
        )
      case 10:
        return fcc(
          b[s]!,
          b[s + 1]!,
          b[s + 2]!,
          b[s + 3]!,
          b[s + 4]!,
          b[s + 5]!,
          b[s + 6]!,
          b[s + 7]!,
          b[s + 8]!,
          b[s + 9]!,
        )
      case 11:
        return fcc(
          b[s]!,
          b[s + 1]!,
          b[s + 2]!,
          b[s + 3]!,
          b[s + 4]!,
          b[s + 5]!,
          b[s + 6]!,
          b[s + 7]!,
          b[s + 8]!,
          b[s + 9]!,
          b[s + 10]!,
        )
      default:
        return fcc(
          b[s]!,
          b[s + 1]!,
          b[s + 2]!,
          b[s + 3]!,
          b[s + 4]!,
          b[s + 5]!,
          b[s + 6]!,
          b[s + 7]!,
          b[s + 8]!,
          b[s + 9]!,
          b[s + 10]!,
          b[s + 11]!,
        )
    }
  }
  return fcc.apply(null, b.subarray(s, s + n) as unknown as number[])
}
function read(b: Uint8Array, end: number): unknown {
  if (pos >= end) return FALLBACK
  const h = b[pos++]!
  const major = h >> 5
  const info = h & 31
  let arg: number
  if (major <= 5) {
    if (info < 24) arg = info
    else if (info === 24) {
      if (pos + 1 > end) return FALLBACK
      arg = b[pos++]!
    } else if (info === 25) {
      if (pos + 2 > end) return FALLBACK
      arg = (b[pos]! << 8) | b[pos + 1]!
      pos += 2
    } else if (info === 26) {
      if (pos + 4 > end) return FALLBACK
      arg = ((b[pos]! << 24) | (b[pos + 1]! << 16) | (b[pos + 2]! << 8) | b[pos + 3]!) >>> 0
      pos += 4
    } else return FALLBACK
    switch (major) {
      case 0:
        return arg
      case 1:
        return -1 - arg
      case 3: {
        if (pos + arg > end || arg > 64) return FALLBACK
        for (let i = 0; i < arg; i++) if (b[pos + i]! >= 0x80) return FALLBACK
        const s = ascii(b, pos, arg)
        pos += arg
        return s
      }
      case 4: {
        if (arg > end - pos) return FALLBACK
        const a = new Array(arg)
        for (let i = 0; i < arg; i++) {
          const v = read(b, end)
          if (v === FALLBACK) return FALLBACK
          a[i] = v
        }
        return a
      }
      case 5: {
        const o: Record<string, unknown> = {}
        for (let i = 0; i < arg; i++) {
          const k = readKey(b, end)
          if (k === FALLBACK || k === '__proto__') return FALLBACK
          const v = read(b, end)
          if (v === FALLBACK) return FALLBACK
          o[k] = v
        }
        return o
      }
    }
    return FALLBACK
  }
  switch (h) {
    case 0xf4:
      return false
    case 0xf5:
      return true
    case 0xf6:
      return null
    case 0xfb: {
      if (pos + 8 > end) return FALLBACK
      const v = new DataView(b.buffer, b.byteOffset).getFloat64(pos)
      pos += 8
      return v
    }
  }
  return FALLBACK
}
function fastDecode(b: Uint8Array, start: number, end: number): unknown {
  pos = start
  const v = read(b, end)
  if (v === FALLBACK || pos !== end) return dec.decode(b.subarray(start, end))
  return v
}
const payload = enc.encode({ account: 'acct-1234', amount: 57 })
console.log(fastDecode(payload, 0, payload.length), dec.decode(payload))
const bufs = Array.from({ length: 1000 }, (_, i) => enc.encode({ account: `acct-${i}`, amount: i }))
for (let r = 0; r < 3; r++) {
  for (const [name, f] of [
    ['fast', (b: Uint8Array) => fastDecode(b, 0, b.length)],
    ['cbor-x', (b: Uint8Array) => dec.decode(b)],
  ] as const) {
    let best = 1e9
    for (let k = 0; k < 10; k++) {
      const t0 = process.hrtime.bigint()
      for (let j = 0; j < 200; j++) for (const b of bufs) f(b)
      best = Math.min(best, Number(process.hrtime.bigint() - t0) / 200000)
    }
    console.log(name, best.toFixed(0), 'ns')
  }
}
