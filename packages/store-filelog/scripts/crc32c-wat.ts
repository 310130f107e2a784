// The WebAssembly text of the bulk record checksummer (src/record-checksums.ts). The slice-by-16
// step is unrolled by this generator rather than typed out, so the .wat stays derivable and
// reviewable; `build-crc32c-wasm.ts` assembles it into src/record-checksums-wasm.ts.
//
// Memory layout: 16 CRC-32C tables of 256 u32 at 0..16 KiB (filled by the host), a scratch area
// from SCRATCH_BASE for SCRATCH_BYTES of records. Records are laid out as in a segment:
// u64 id | u32 length | u32 crc32c(id, length, payload) | payload, all big-endian.

/** Where the scratch area starts in the module's memory (after the tables' page). */
export const SCRATCH_BASE = 65_536
/** Bytes of records one call can see. */
export const SCRATCH_BYTES = 1024 * 1024
/**
 * One page more than the scratch needs: a pair's second header may be read before its bounds check
 * is known (both sides of an `i32.and` are evaluated), up to 12 bytes past a scratch filled to its
 * last byte, and that read must land in memory rather than trap.
 */
const PAGES = (SCRATCH_BASE + SCRATCH_BYTES) / 65_536 + 1

const get = (name: string) => `(local.get $${name})`
const set = (name: string, value: string) => `(local.set $${name} ${value})`
const c32 = (n: number) => `(i32.const ${n})`

/** Table `table`'s entry at the byte offset `offset` (4 × the byte): tables are 1 KiB apart. */
const lookupAt = (table: number, offset: string) => `(i32.load offset=${table * 1024} ${offset})`

/** Table `table`'s entry for the byte `index`. */
const lookup = (table: number, index: string) => lookupAt(table, `(i32.shl ${index} ${c32(2)})`)

/** 4 × byte `k` of `word`: one shift and one mask (the entries are 4 bytes wide). */
function entryOffsetOf(word: string, k: number): string {
  if (k === 0) return `(i32.and (i32.shl ${word} ${c32(2)}) ${c32(1020)})`
  return `(i32.and (i32.shr_u ${word} ${c32(8 * k - 2)}) ${c32(1020)})`
}

const xorAll = (terms: string[]) => terms.reduce((acc, t) => `(i32.xor ${acc} ${t})`)

/** One 16-byte step of `crc` over the bytes at `p` (slice-by-16; words load little-endian). */
function step16(crc: string, p: string, words: readonly string[]): string {
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
function step4(crc: string, p: string, offset: number, word: string): string {
  const terms = [0, 1, 2, 3].map((k) => lookupAt(3 - k, entryOffsetOf(get(word), k)))
  return [
    set(word, `(i32.xor ${get(crc)} (i32.load offset=${offset} ${get(p)}))`),
    set(crc, xorAll(terms)),
  ].join('\n')
}

/** A big-endian u32 at `p + offset`. */
const loadBE = (p: string, offset: number) => {
  const w = `(i32.load offset=${offset} ${get(p)})`
  return `(i32.or (i32.and (i32.rotl ${w} ${c32(8)}) ${c32(0x00ff00ff)}) (i32.and (i32.rotr ${w} ${c32(8)}) ${c32(0xff00ff00 | 0)}))`
}

/** The locals of one record's CRC: the suffix tells the two records of a pair apart. */
function recordLocals(x: string): {
  o: string
  len: string
  crc: string
  p: string
  pend: string
  w: string[]
} {
  return {
    o: `o${x}`,
    len: `len${x}`,
    crc: `crc${x}`,
    p: `p${x}`,
    pend: `pend${x}`,
    w: [0, 1, 2, 3].map((i) => `w${i}${x}`),
  }
}
const A = recordLocals('')
const B = recordLocals('2')
const declare = (r: ReturnType<typeof recordLocals>) =>
  [r.len, r.crc, r.p, r.pend, ...r.w].map((n) => `(local $${n} i32)`).join(' ')

/** Starts the CRC of record `r` (its id and length) and sets its payload bounds. */
const crcHead = (r: ReturnType<typeof recordLocals>) => `
  ${set(r.crc, c32(-1))}
  ${step4(r.crc, r.o, 0, r.w[0]!)}
  ${step4(r.crc, r.o, 4, r.w[0]!)}
  ${step4(r.crc, r.o, 8, r.w[0]!)}
  ${set(r.p, `(i32.add ${get(r.o)} ${c32(16)})`)}
  ${set(r.pend, `(i32.add ${get(r.p)} ${get(r.len)})`)}`

/** Finishes the CRC of record `r` from its payload position `p` on. */
const crcTail = (r: ReturnType<typeof recordLocals>) => `
  (block $done16${r.o} (loop $by16${r.o}
    (br_if $done16${r.o} (i32.gt_u (i32.add ${get(r.p)} ${c32(16)}) ${get(r.pend)}))
    ${step16(r.crc, r.p, r.w)}
    ${set(r.p, `(i32.add ${get(r.p)} ${c32(16)})`)}
    (br $by16${r.o})))
  (block $done4${r.o} (loop $by4${r.o}
    (br_if $done4${r.o} (i32.gt_u (i32.add ${get(r.p)} ${c32(4)}) ${get(r.pend)}))
    ${step4(r.crc, r.p, 0, r.w[0]!)}
    ${set(r.p, `(i32.add ${get(r.p)} ${c32(4)})`)}
    (br $by4${r.o})))
  (block $done1${r.o} (loop $by1${r.o}
    (br_if $done1${r.o} (i32.ge_u ${get(r.p)} ${get(r.pend)}))
    ${set(r.crc, `(i32.xor ${lookup(0, `(i32.and (i32.xor ${get(r.crc)} (i32.load8_u ${get(r.p)})) ${c32(255)})`)} (i32.shr_u ${get(r.crc)} ${c32(8)}))`)}
    ${set(r.p, `(i32.add ${get(r.p)} ${c32(1)})`)}
    (br $by1${r.o})))
  ${set(r.crc, `(i32.xor ${get(r.crc)} ${c32(-1)})`)}`

/**
 * The CRCs of two records side by side: one record's steps wait on each other (each table lookup
 * needs the previous step's result), so a second, independent chain fills the idle cycles.
 */
const pairCrc = `
  ${crcHead(A)}
  ${crcHead(B)}
  (block $donePair (loop $byPair
    (br_if $donePair (i32.gt_u (i32.add ${get(A.p)} ${c32(16)}) ${get(A.pend)}))
    (br_if $donePair (i32.gt_u (i32.add ${get(B.p)} ${c32(16)}) ${get(B.pend)}))
    ${step16(A.crc, A.p, A.w)}
    ${step16(B.crc, B.p, B.w)}
    ${set(A.p, `(i32.add ${get(A.p)} ${c32(16)})`)}
    ${set(B.p, `(i32.add ${get(B.p)} ${c32(16)})`)}
    (br $byPair)))
  ${crcTail(A)}
  ${crcTail(B)}`

/**
 * Whether a whole record starts at local `o` before $end; its payload length goes into `len`. Both
 * conditions are evaluated, so the length may be read past $end (see PAGES).
 */
const whole = (o: string, len: string) => `(i32.and
    (i32.le_u (i32.add ${get(o)} ${c32(16)}) ${get('end')})
    (i32.le_u (local.tee $${len} ${loadBE(o, 8)}) (i32.sub (i32.sub ${get('end')} ${get(o)}) ${c32(16)})))`

/**
 * A walk over the whole records in [o, end), two at a time: stops at the first record that is not
 * whole in the range (or, for verify, whose checksum differs) and returns its offset. `onRecord`
 * runs for each whole record, at $o, with its CRC in the given local; it may `br $stop`.
 */
function walk(name: string, onRecord: (crc: string) => string): string {
  return `
(func (export "${name}") (param $o i32) (param $end i32) (result i32)
  (local $o2 i32) ${declare(A)} ${declare(B)}
  (block $stop (loop $next
    (br_if $stop (i32.gt_u (i32.add ${get('o')} ${c32(16)}) ${get('end')}))
    ${set('len', loadBE('o', 8))}
    (br_if $stop (i32.gt_u ${get('len')} (i32.sub (i32.sub ${get('end')} ${get('o')}) ${c32(16)})))
    ${set('o2', `(i32.add (i32.add ${get('o')} ${c32(16)}) ${get('len')})`)}
    (if ${whole('o2', 'len2')}
      (then
        ${pairCrc}
        ${onRecord('crc')}
        ${set('o', get('o2'))}
        ${onRecord('crc2')}
        ${set('o', `(i32.add (i32.add ${get('o')} ${c32(16)}) ${get('len2')})`)})
      (else
        ${crcHead(A)}
        ${crcTail(A)}
        ${onRecord('crc')}
        ${set('o', get('o2'))}))
    (br $next)))
  ${get('o')})`
}

const verifyFn = walk('verify', (crc) => `(br_if $stop (i32.ne ${get(crc)} ${loadBE('o', 12)}))`)

// The CRC is stored big-endian: byte-swap the finished value before the little-endian store.
const sealFn = walk('seal', (crc) => `(i32.store offset=12 ${get('o')} (call $bswap ${get(crc)}))`)

const bswapFn = `
(func $bswap (param $x i32) (result i32)
  (i32.or (i32.and (i32.rotl ${get('x')} ${c32(8)}) ${c32(0x00ff00ff)}) (i32.and (i32.rotr ${get('x')} ${c32(8)}) ${c32(0xff00ff00 | 0)})))`

/** The module's text. */
export function crc32cWat(): string {
  return `(module
(memory (export "memory") ${PAGES} ${PAGES})
${bswapFn}
${verifyFn}
${sealFn}
)
`
}
