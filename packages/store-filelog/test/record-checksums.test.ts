import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { assembleCrc32cWasm } from '../scripts/build-crc32c-wasm.js'
import { sealRecords, verifyRecords } from '../src/record-checksums.js'
import { RECORD_CHECKSUMS_WASM } from '../src/record-checksums-wasm.js'
import { RECORD_HEADER_BYTES, writeRecordHeader } from '../src/segment-format.js'

const MiB = 1024 * 1024

/** Records laid out as in a segment, ids from 1, checksums written by the JavaScript path. */
function layout(lengths: readonly number[], seed: number): { buf: Uint8Array; offsets: number[] } {
  const total = lengths.reduce((sum, n) => sum + RECORD_HEADER_BYTES + n, 0)
  const buf = new Uint8Array(total)
  const offsets: number[] = []
  let o = 0
  lengths.forEach((n, i) => {
    for (let j = 0; j < n; j++) buf[o + RECORD_HEADER_BYTES + j] = (seed + i * 31 + j * 7) & 0xff
    writeRecordHeader(buf, o, i + 1, n)
    offsets.push(o)
    o += RECORD_HEADER_BYTES + n
  })
  return { buf, offsets }
}

const lengthsArb = fc.array(
  fc.oneof({ weight: 20, arbitrary: fc.integer({ min: 0, max: 300 }) }, fc.constantFrom(15, 16, 17, 4096)),
  { minLength: 1, maxLength: 60 },
)

describe('bulk record checksums', () => {
  it('ships the module that scripts/build-crc32c-wasm.ts assembles from the generator', async () => {
    expect(Buffer.from(RECORD_CHECKSUMS_WASM, 'base64').equals(Buffer.from(await assembleCrc32cWasm()))).toBe(
      true,
    )
  })

  it('seals exactly what the JavaScript CRC writes, and verifies every whole record', () => {
    fc.assert(
      fc.property(lengthsArb, fc.nat(255), (lengths, seed) => {
        const { buf: expected, offsets } = layout(lengths, seed)
        const sealed = expected.slice()
        for (const o of offsets) sealed.fill(0, o + 12, o + 16)
        sealRecords(sealed, 0, sealed.length)
        expect(Buffer.from(sealed).equals(Buffer.from(expected))).toBe(true)
        expect(verifyRecords(sealed, 0, sealed.length)).toBe(sealed.length)
      }),
      { numRuns: 200 },
    )
  })

  it('stops at the record a flipped bit damages, and at the first record a cut leaves torn', () => {
    fc.assert(
      fc.property(lengthsArb, fc.nat(255), fc.nat(), fc.nat(7), fc.nat(), (lengths, seed, at, bit, cut) => {
        const { buf, offsets } = layout(lengths, seed)
        const damaged = buf.slice()
        const pos = at % buf.length
        damaged[pos]! ^= 1 << bit
        const victim = offsets.findLast((o) => o <= pos)!
        expect(verifyRecords(damaged, 0, damaged.length)).toBe(victim)

        const end = cut % (buf.length + 1)
        const lastWhole = offsets.findLast((o, i) => o <= end && o + RECORD_HEADER_BYTES + lengths[i]! <= end)
        const firstTorn =
          lastWhole === undefined ? 0 : lastWhole + RECORD_HEADER_BYTES + lengths[offsets.indexOf(lastWhole)]!
        expect(verifyRecords(buf, 0, end)).toBe(firstTorn)
      }),
      { numRuns: 300 },
    )
  })

  it('checks an odd number of records that end exactly at the end of its 1 MiB scratch', () => {
    // The last record has no partner: the header after it would lie past the module's memory.
    const lengths = [...Array.from({ length: 1008 }, () => 1024), 240]
    const { buf, offsets } = layout(lengths, 3)
    expect(buf.length).toBe(MiB)
    expect(verifyRecords(buf, 0, buf.length)).toBe(buf.length)
    const sealed = buf.slice()
    for (const o of offsets) sealed.fill(0, o + 12, o + 16)
    sealRecords(sealed, 0, sealed.length)
    expect(Buffer.from(sealed).equals(Buffer.from(buf))).toBe(true)
  })

  it('handles records across its 1 MiB scratch and records larger than it', () => {
    const lengths = [...Array.from({ length: 2500 }, () => 1000), 1.5 * MiB, 3, 2 * MiB - 16, 0, 70_000]
    const { buf, offsets } = layout(lengths, 9)
    expect(verifyRecords(buf, 0, buf.length)).toBe(buf.length)
    const copy = buf.slice()
    for (const o of offsets) copy.fill(0, o + 12, o + 16)
    sealRecords(copy, 0, copy.length)
    expect(Buffer.from(copy).equals(Buffer.from(buf))).toBe(true)
    // Damage inside the 1.5 MiB record: found, not skipped.
    const big = offsets[2500]!
    copy[big + RECORD_HEADER_BYTES + MiB]! ^= 0x40
    expect(verifyRecords(copy, 0, copy.length)).toBe(big)
    // A start in the middle of the buffer works too.
    expect(verifyRecords(buf, offsets[1234]!, buf.length)).toBe(buf.length)
  })
})
