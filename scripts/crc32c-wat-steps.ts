// Building blocks of the WebAssembly CRC-32C checksummers (store-filelog's records, store-lmdb's
// event chunks): WebAssembly text for slice-by-16 steps over little-endian words, generated rather
// than typed out so each module's .wat stays derivable and reviewable. Every module using them lays
// out its memory the same way: the 16 CRC-32C tables of 256 u32 at 0..16 KiB, filled by the host
// from core's CRC32C_TABLES.

export const get = (name: string) => `(local.get $${name})`
export const set = (name: string, value: string) => `(local.set $${name} ${value})`
export const c32 = (n: number) => `(i32.const ${n})`

/** Table `table`'s entry at the byte offset `offset` (4 × the byte): tables are 1 KiB apart. */
const lookupAt = (table: number, offset: string) => `(i32.load offset=${table * 1024} ${offset})`

/** Table `table`'s entry for the byte `index`. */
export const lookup = (table: number, index: string) => lookupAt(table, `(i32.shl ${index} ${c32(2)})`)

/** 4 × byte `k` of `word`: one shift and one mask (the entries are 4 bytes wide). */
function entryOffsetOf(word: string, k: number): string {
  if (k === 0) return `(i32.and (i32.shl ${word} ${c32(2)}) ${c32(1020)})`
  return `(i32.and (i32.shr_u ${word} ${c32(8 * k - 2)}) ${c32(1020)})`
}

const xorAll = (terms: string[]) => terms.reduce((acc, t) => `(i32.xor ${acc} ${t})`)

/** One 16-byte step of `crc` over the bytes at `p` (slice-by-16; words load little-endian). */
export function step16(crc: string, p: string, words: readonly string[]): string {
  const terms: string[] = []
  words.forEach((w, i) => {
    for (let k = 0; k < 4; k++) terms.push(lookupAt(15 - (i * 4 + k), entryOffsetOf(get(w), k)))
  })
  return [
    set(words[0]!, `(i32.xor ${get(crc)} (i32.load ${get(p)}))`),
    set(words[1]!, `(i32.load offset=4 ${get(p)})`),
    set(words[2]!, `(i32.load offset=8 ${get(p)})`),
    set(words[3]!, `(i32.load offset=12 ${get(p)})`),
    set(crc, xorAll(terms)),
  ].join('\n')
}

/** One 4-byte step of `crc` over the bytes at `p + offset` (slice-by-4), using the local `word`. */
export function step4(crc: string, p: string, offset: number, word: string): string {
  return step4Word(crc, `(i32.load offset=${offset} ${get(p)})`, word)
}

/** One 4-byte step of `crc` over the four bytes of `value` (an i32 expression, little-endian order). */
export function step4Word(crc: string, value: string, word: string): string {
  const terms = [0, 1, 2, 3].map((k) => lookupAt(3 - k, entryOffsetOf(get(word), k)))
  return [set(word, `(i32.xor ${get(crc)} ${value})`), set(crc, xorAll(terms))].join('\n')
}

/** `x` with its bytes reversed (big-endian ↔ little-endian). */
export const bswap = (x: string) =>
  `(i32.or (i32.and (i32.rotl ${x} ${c32(8)}) ${c32(0x00ff00ff)}) (i32.and (i32.rotr ${x} ${c32(8)}) ${c32(0xff00ff00 | 0)}))`

/** A big-endian u32 at the address `addr` (an i32 expression) + `offset`. */
export const loadBEAt = (addr: string, offset: number) => bswap(`(i32.load offset=${offset} ${addr})`)

/** A big-endian u32 at `p + offset`. */
export const loadBE = (p: string, offset: number) => loadBEAt(get(p), offset)

/**
 * Finishes `crc` over the bytes from `p` to `pend` (16, then 4, then 1 byte per step) and applies
 * the final complement. `label` keeps the loops' names apart when several tails share a function.
 */
export function crcTail(
  crc: string,
  p: string,
  pend: string,
  words: readonly string[],
  label: string,
): string {
  return `
  (block $done16${label} (loop $by16${label}
    (br_if $done16${label} (i32.gt_u (i32.add ${get(p)} ${c32(16)}) ${get(pend)}))
    ${step16(crc, p, words)}
    ${set(p, `(i32.add ${get(p)} ${c32(16)})`)}
    (br $by16${label})))
  (block $done4${label} (loop $by4${label}
    (br_if $done4${label} (i32.gt_u (i32.add ${get(p)} ${c32(4)}) ${get(pend)}))
    ${step4(crc, p, 0, words[0]!)}
    ${set(p, `(i32.add ${get(p)} ${c32(4)})`)}
    (br $by4${label})))
  (block $done1${label} (loop $by1${label}
    (br_if $done1${label} (i32.ge_u ${get(p)} ${get(pend)}))
    ${set(crc, `(i32.xor ${lookup(0, `(i32.and (i32.xor ${get(crc)} (i32.load8_u ${get(p)})) ${c32(255)})`)} (i32.shr_u ${get(crc)} ${c32(8)}))`)}
    ${set(p, `(i32.add ${get(p)} ${c32(1)})`)}
    (br $by1${label})))
  ${set(crc, `(i32.xor ${get(crc)} ${c32(-1)})`)}`
}

/**
 * Two CRCs side by side over `[a.p, a.pend)` and `[b.p, b.pend)` while both have 16 bytes left:
 * one chain's steps wait on each other (each table lookup needs the previous step's result), so
 * a second, independent chain fills the idle cycles. The tails are left to {@link crcTail}.
 */
export function pairSteps(
  a: { crc: string; p: string; pend: string; w: readonly string[] },
  b: { crc: string; p: string; pend: string; w: readonly string[] },
  label: string,
): string {
  return `
  (block $donePair${label} (loop $byPair${label}
    (br_if $donePair${label} (i32.gt_u (i32.add ${get(a.p)} ${c32(16)}) ${get(a.pend)}))
    (br_if $donePair${label} (i32.gt_u (i32.add ${get(b.p)} ${c32(16)}) ${get(b.pend)}))
    ${step16(a.crc, a.p, a.w)}
    ${step16(b.crc, b.p, b.w)}
    ${set(a.p, `(i32.add ${get(a.p)} ${c32(16)})`)}
    ${set(b.p, `(i32.add ${get(b.p)} ${c32(16)})`)}
    (br $byPair${label})))`
}
