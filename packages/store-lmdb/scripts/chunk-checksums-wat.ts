// The WebAssembly text of the event chunk checksummer (src/chunk-checksums.ts), generated from the
// slice-by-16 steps shared with store-filelog; `build-chunk-checksums-wasm.ts` assembles it into
// src/chunk-checksums-wasm.ts.
//
// Memory layout: 16 CRC-32C tables of 256 u32 at 0..16 KiB (filled by the host), a scratch area
// from SCRATCH_BASE for SCRATCH_BYTES holding one chunk value as src/event-chunks.ts writes it:
// [u32 count][u32 end offset of each event][u32 CRC-32C of each event: u64 id, then its bytes]
// [event bytes...], all big-endian.

import {
  bswap,
  c32,
  crcTail,
  get,
  loadBE,
  loadBEAt,
  pairSteps,
  set,
  step4Word,
} from '../../../scripts/crc32c-wat-steps.js'

/** Where the scratch area starts in the module's memory (after the tables' page). */
export const SCRATCH_BASE = 65_536
/** The largest chunk value one call can see (the default chunk holds 1 MiB of events). */
export const SCRATCH_BYTES = 2 * 1024 * 1024
const PAGES = (SCRATCH_BASE + SCRATCH_BYTES) / 65_536

interface EventLocals {
  readonly crc: string
  readonly p: string
  readonly pend: string
  readonly w: readonly string[]
  readonly idLo: string
}
const eventLocals = (x: string): EventLocals => ({
  crc: `crc${x}`,
  p: `p${x}`,
  pend: `pend${x}`,
  w: [0, 1, 2, 3].map((i) => `w${i}${x}`),
  idLo: `idLo${x}`,
})
const A = eventLocals('')
const B = eventLocals('2')
const declare = (e: EventLocals) =>
  [e.crc, e.p, e.pend, e.idLo, ...e.w].map((n) => `(local $${n} i32)`).join(' ')

/** Event `index`'s id (firstId + index, a u64 as $hi:$lo) into the CRC: big-endian, high word first. */
const idHead = (e: EventLocals, index: string) => `
  ${set(e.idLo, `(i32.add ${get('lo')} ${index})`)}
  ${set(e.crc, c32(-1))}
  ${step4Word(e.crc, bswap(`(i32.add ${get('hi')} (i32.lt_u ${get(e.idLo)} ${get('lo')}))`), e.w[0]!)}
  ${step4Word(e.crc, bswap(get(e.idLo)), e.w[0]!)}`

/** The stored checksum of event `index`. */
const storedSum = (index: string) => loadBEAt(`(i32.add ${get('sums')} (i32.shl ${index} ${c32(2)}))`, 0)

/** The u32 at `base + 4k + offset`: `offset` 0 is the end of event k - 1, 4 that of event k. */
const endOffsetAt = (offset: number) =>
  loadBEAt(`(i32.add ${get('base')} (i32.shl ${get('k')} ${c32(2)}))`, offset)

/**
 * verify(base, len, hi, lo, k, to): checks events k..to-1 of the chunk of `len` bytes at `base`
 * whose first id is hi:lo; returns the index of the first event whose bounds are out of order or
 * outside the data, or whose checksum differs (`to` when all match). The caller has checked the
 * count against `len`. Two events at a time, side by side (see pairSteps).
 */
const verifyFn = `
(func (export "verify") (param $base i32) (param $len i32) (param $hi i32) (param $lo i32)
    (param $k i32) (param $to i32) (result i32)
  (local $count i32) (local $sums i32) (local $data i32) (local $dlen i32)
  (local $s i32) (local $e i32) (local $e2 i32) ${declare(A)} ${declare(B)}
  ${set('count', loadBE('base', 0))}
  ${set('sums', `(i32.add ${get('base')} (i32.add ${c32(4)} (i32.shl ${get('count')} ${c32(2)})))`)}
  ${set('data', `(i32.add ${get('base')} (i32.add ${c32(4)} (i32.shl ${get('count')} ${c32(3)})))`)}
  ${set('dlen', `(i32.sub (i32.add ${get('base')} ${get('len')}) ${get('data')})`)}
  (block $stop (loop $next
    (br_if $stop (i32.ge_u ${get('k')} ${get('to')}))
    ;; the end offset of event k - 1 sits just before event k's: at base + 4k (the count for k = 0)
    ${set('s', `(select ${c32(0)} ${endOffsetAt(0)} (i32.eqz ${get('k')}))`)}
    ${set('e', endOffsetAt(4))}
    (br_if $stop (i32.or (i32.lt_u ${get('e')} ${get('s')}) (i32.gt_u ${get('e')} ${get('dlen')})))
    ${set(A.p, `(i32.add ${get('data')} ${get('s')})`)}
    ${set(A.pend, `(i32.add ${get('data')} ${get('e')})`)}
    ${idHead(A, get('k'))}
    (if (i32.lt_u (i32.add ${get('k')} ${c32(1)}) ${get('to')})
      (then
        ${set('e2', endOffsetAt(8))}
        (if (i32.and (i32.ge_u ${get('e2')} ${get('e')}) (i32.le_u ${get('e2')} ${get('dlen')}))
          (then
            ${set(B.p, `(i32.add ${get('data')} ${get('e')})`)}
            ${set(B.pend, `(i32.add ${get('data')} ${get('e2')})`)}
            ${idHead(B, `(i32.add ${get('k')} ${c32(1)})`)}
            ${pairSteps(A, B, '')}
            ${crcTail(A.crc, A.p, A.pend, A.w, 'PairA')}
            ${crcTail(B.crc, B.p, B.pend, B.w, 'PairB')}
            (br_if $stop (i32.ne ${get(A.crc)} ${storedSum(get('k'))}))
            ${set('k', `(i32.add ${get('k')} ${c32(1)})`)}
            (br_if $stop (i32.ne ${get(B.crc)} ${storedSum(get('k'))}))
            ${set('k', `(i32.add ${get('k')} ${c32(1)})`)}
            (br $next)))))
    ${crcTail(A.crc, A.p, A.pend, A.w, 'One')}
    (br_if $stop (i32.ne ${get(A.crc)} ${storedSum(get('k'))}))
    ${set('k', `(i32.add ${get('k')} ${c32(1)})`)}
    (br $next)))
  ${get('k')})`

/** The module's text. */
export function chunkChecksumsWat(): string {
  return `(module
(memory (export "memory") ${PAGES} ${PAGES})
${verifyFn}
)
`
}
