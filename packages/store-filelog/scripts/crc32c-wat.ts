// The WebAssembly text of the bulk record checksummer (src/record-checksums.ts). The slice-by-16
// step is unrolled by this generator rather than typed out, so the .wat stays derivable and
// reviewable; `build-crc32c-wasm.ts` assembles it into src/record-checksums-wasm.ts.
//
// Memory layout: 16 CRC-32C tables of 256 u32 at 0..16 KiB (filled by the host), a scratch area
// from SCRATCH_BASE for SCRATCH_BYTES of records. Records are laid out as in a segment:
// u64 id | u32 length | u32 crc32c(id, length, payload) | payload, all big-endian.

import { bswap, c32, crcTail, get, loadBE, pairSteps, set, step4 } from '../../../scripts/crc32c-wat-steps.js'

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
const recordTail = (r: ReturnType<typeof recordLocals>) => crcTail(r.crc, r.p, r.pend, r.w, r.o)

/** The CRCs of two records side by side (see pairSteps). */
const pairCrc = `
  ${crcHead(A)}
  ${crcHead(B)}
  ${pairSteps(A, B, '')}
  ${recordTail(A)}
  ${recordTail(B)}`

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
        ${recordTail(A)}
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
  ${bswap(get('x'))})`

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
