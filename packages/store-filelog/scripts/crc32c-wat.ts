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
const PAGES = (SCRATCH_BASE + SCRATCH_BYTES) / 65_536

const get = (name: string) => `(local.get $${name})`
const set = (name: string, value: string) => `(local.set $${name} ${value})`
const c32 = (n: number) => `(i32.const ${n})`

/** Table `k` entry for the byte `index`: tables are 1 KiB apart. */
const lookup = (table: number, index: string) =>
  `(i32.load offset=${table * 1024} (i32.shl ${index} ${c32(2)}))`

function byteOf(word: string, k: number): string {
  if (k === 0) return `(i32.and ${word} ${c32(255)})`
  if (k === 3) return `(i32.shr_u ${word} ${c32(24)})`
  return `(i32.and (i32.shr_u ${word} ${c32(8 * k)}) ${c32(255)})`
}

const xorAll = (terms: string[]) => terms.reduce((acc, t) => `(i32.xor ${acc} ${t})`)

/** One 16-byte step of `crc` over the bytes at `p` (slice-by-16; words load little-endian). */
function step16(crc: string, p: string): string {
  const words = ['w0', 'w1', 'w2', 'w3']
  const terms: string[] = []
  words.forEach((w, i) => {
    for (let k = 0; k < 4; k++) terms.push(lookup(15 - (i * 4 + k), byteOf(get(w), k)))
  })
  return [
    set('w0', `(i32.xor ${get(crc)} (i32.load ${get(p)}))`),
    set('w1', `(i32.load offset=4 ${get(p)})`),
    set('w2', `(i32.load offset=8 ${get(p)})`),
    set('w3', `(i32.load offset=12 ${get(p)})`),
    set(crc, xorAll(terms)),
  ].join('\n')
}

/** One 4-byte step of `crc` over the bytes at `p + offset` (slice-by-4). */
function step4(crc: string, p: string, offset: number): string {
  const terms = [0, 1, 2, 3].map((k) => lookup(3 - k, byteOf(get('w0'), k)))
  return [
    set('w0', `(i32.xor ${get(crc)} (i32.load offset=${offset} ${get(p)}))`),
    set(crc, xorAll(terms)),
  ].join('\n')
}

/** A big-endian u32 at `p + offset`. */
const loadBE = (p: string, offset: number) => {
  const w = `(i32.load offset=${offset} ${get(p)})`
  return `(i32.or (i32.and (i32.rotl ${w} ${c32(8)}) ${c32(0x00ff00ff)}) (i32.and (i32.rotr ${w} ${c32(8)}) ${c32(0xff00ff00 | 0)}))`
}

const WORD_LOCALS = '(local $w0 i32) (local $w1 i32) (local $w2 i32) (local $w3 i32)'

/**
 * Statements leaving in $crc the finished CRC of the record at $o with $len payload bytes: id and
 * length, then the payload from $p on. Inlined into each walk (a call per record costs ~10%).
 */
const recordCrc = `
  ${set('crc', c32(-1))}
  ${step4('crc', 'o', 0)}
  ${step4('crc', 'o', 4)}
  ${step4('crc', 'o', 8)}
  ${set('p', `(i32.add ${get('o')} ${c32(16)})`)}
  ${set('pend', `(i32.add ${get('p')} ${get('len')})`)}
  (block $done16 (loop $by16
    (br_if $done16 (i32.gt_u (i32.add ${get('p')} ${c32(16)}) ${get('pend')}))
    ${step16('crc', 'p')}
    ${set('p', `(i32.add ${get('p')} ${c32(16)})`)}
    (br $by16)))
  (block $done4 (loop $by4
    (br_if $done4 (i32.gt_u (i32.add ${get('p')} ${c32(4)}) ${get('pend')}))
    ${step4('crc', 'p', 0)}
    ${set('p', `(i32.add ${get('p')} ${c32(4)})`)}
    (br $by4)))
  (block $done1 (loop $by1
    (br_if $done1 (i32.ge_u ${get('p')} ${get('pend')}))
    ${set('crc', `(i32.xor ${lookup(0, `(i32.and (i32.xor ${get('crc')} (i32.load8_u ${get('p')})) ${c32(255)})`)} (i32.shr_u ${get('crc')} ${c32(8)}))`)}
    ${set('p', `(i32.add ${get('p')} ${c32(1)})`)}
    (br $by1)))
  ${set('crc', `(i32.xor ${get('crc')} ${c32(-1)})`)}`

/**
 * A walk over the whole records in [o, end): stops at the first record that is not whole in the
 * range (or, for verify, whose checksum differs) and returns its offset. `onRecord` runs for each
 * whole record with its payload length in $len and its CRC in $crc; it may `br $stop`.
 */
function walk(name: string, onRecord: string): string {
  return `
(func (export "${name}") (param $o i32) (param $end i32) (result i32)
  (local $len i32) (local $crc i32) (local $p i32) (local $pend i32) ${WORD_LOCALS}
  (block $stop (loop $next
    (br_if $stop (i32.gt_u (i32.add ${get('o')} ${c32(16)}) ${get('end')}))
    ${set('len', loadBE('o', 8))}
    (br_if $stop (i32.gt_u ${get('len')} (i32.sub (i32.sub ${get('end')} ${get('o')}) ${c32(16)})))
    ${recordCrc}
    ${onRecord}
    ${set('o', `(i32.add (i32.add ${get('o')} ${c32(16)}) ${get('len')})`)}
    (br $next)))
  ${get('o')})`
}

const verifyFn = walk('verify', `(br_if $stop (i32.ne ${get('crc')} ${loadBE('o', 12)}))`)

// The CRC is stored big-endian: byte-swap the finished value before the little-endian store.
const sealFn = walk('seal', `(i32.store offset=12 ${get('o')} (call $bswap ${get('crc')}))`)

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
