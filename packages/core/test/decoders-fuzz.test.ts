import {
  type AzothEvent,
  decodeEvent,
  decodeTypedValue,
  encodeEnvelope,
  encodeTypedValue,
  TypedValue,
} from '@azothdb/core'
import { decodeCbor, decodeEnvelopeHeader, encodeCbor } from '@azothdb/core/internal'
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { spawnTypeScript } from '../../../vitest.shared.js'
import { envelopeInputArb, protoKeyJsonText, typedValueArb } from './arbitraries.js'
import { decodesOrCorruption, feedAll, mutate, mutationArb, plausibleBytes } from './decoder-fuzzing.js'
import { hex, propertyTimeout, runs } from './helpers.js'

const FUZZ_DEADLINE_MS = process.env.AZOTH_STRESS === '1' ? 1_200_000 : 180_000

/** The bytes `decode` returns a value for, or undefined when it raises CORRUPTION. */
function decodedOrUndefined<T>(decode: () => T): T | undefined {
  let value: T | undefined
  decodesOrCorruption(() => {
    value = decode()
  })
  return value
}

/** What encodeEnvelope writes for a decoded event (it refuses what a writer could not write). */
function reencode(event: AzothEvent, rawPayload: boolean): Uint8Array {
  const { type, timestamp, metadata, stream, payload } = event
  return encodeEnvelope({ type, timestamp, metadata, stream, payload, rawPayload })
}

/** A payload built by JSON.parse, with own `__proto__` keys, padded past 64 KiB when `big`. */
function protoPayload(text: string, big: boolean): unknown {
  const value: unknown = JSON.parse(text)
  return big ? { value, padding: 'ä'.repeat(40_000) } : value
}

describe('decoders only ever raise CORRUPTION', propertyTimeout, () => {
  it('on random byte strings', () => {
    fc.assert(fc.property(plausibleBytes, feedAll), { numRuns: runs(3000) })
  })

  it('on random bytes behind a typed-value json tag and an envelope header', () => {
    fc.assert(
      fc.property(plausibleBytes, (b) => {
        feedAll(new Uint8Array([9, ...b]))
        const header = encodeEnvelope({ type: 'T', timestamp: 0, payload: null }).subarray(0, 13)
        feedAll(new Uint8Array([...header, ...b]))
        const withMeta = new Uint8Array([...header, 0, 0, 0, b.length, ...b])
        withMeta[1] = 0b010
        feedAll(withMeta)
      }),
      { numRuns: runs(2000) },
    )
  })

  it('on mutated typed values', () => {
    fc.assert(
      fc.property(typedValueArb, fc.array(mutationArb, { minLength: 1, maxLength: 4 }), (v, muts) => {
        feedAll(mutate(encodeTypedValue(v), muts))
      }),
      { numRuns: runs(2000) },
    )
  })

  it('on mutated envelopes', () => {
    fc.assert(
      fc.property(envelopeInputArb, fc.array(mutationArb, { minLength: 1, maxLength: 4 }), (g, muts) => {
        const bytes = encodeEnvelope({
          type: g.type,
          timestamp: g.timestamp,
          metadata: g.metadata,
          stream: g.stream,
          payload: g.body.payload,
          rawPayload: g.body.rawPayload,
        })
        feedAll(mutate(bytes, muts))
      }),
      { numRuns: runs(2000) },
    )
  })

  it('on mutated payloads and metadata with own __proto__ keys, small and past 64 KiB', () => {
    // Both decode paths: the fast path and cbor-x, which (for bytes that may hold the key) decodes
    // maps as Maps that become objects; at 64 KiB cbor-x stops reading from a scratch copy.
    fc.assert(
      fc.property(
        protoKeyJsonText,
        fc.integer({ min: 0, max: 4 }).map((n) => n === 0),
        fc.array(mutationArb, { minLength: 1, maxLength: 4 }),
        (text, big, muts) => {
          const payload = protoPayload(text, big)
          feedAll(mutate(encodeCbor(payload), muts))
          const event = encodeEnvelope({ type: 'T', timestamp: 1, payload, metadata: { m: payload } })
          feedAll(mutate(event, muts))
        },
      ),
      { numRuns: runs(400) },
    )
  })

  it('a decoded typed value is one encodeTypedValue accepts and gives back unchanged', () => {
    // Decoding may only succeed with a value we could have written: anything else is a silent
    // wrong answer that should have been CORRUPTION.
    const check = (bytes: Uint8Array) => {
      const v = decodedOrUndefined(() => decodeTypedValue(bytes))
      if (v === undefined) return
      // Built again through its kind's public constructor, which checks everything a writer must.
      const rebuilt = (TypedValue[v.kind] as (value: unknown) => TypedValue)(v.value)
      const again = encodeTypedValue(rebuilt)
      expect(decodeTypedValue(again).equals(v)).toBe(true)
      // Every kind but json (any CBOR that decodes) and f64 (NaN payloads) has one encoding per
      // value: other bytes that decode mean a lossy decoding (a replaced character, a reordered set).
      if (v.kind !== 'json' && v.kind !== 'f64') expect(hex(again)).toBe(hex(bytes))
    }
    fc.assert(
      fc.property(typedValueArb, fc.array(mutationArb, { minLength: 1, maxLength: 4 }), (v, muts) =>
        check(mutate(encodeTypedValue(v), muts)),
      ),
      { numRuns: runs(1000) },
    )
    fc.assert(
      fc.property(plausibleBytes, (b) => check(new Uint8Array([9, ...b]))),
      { numRuns: runs(1000) },
    )
    // A valid body under another kind's tag: an array's members read as a set, a string as bytes...
    fc.assert(
      fc.property(typedValueArb, fc.nat(9), (v, tag) => {
        const bytes = encodeTypedValue(v).slice()
        bytes[0] = tag
        check(bytes)
      }),
      { numRuns: runs(1000) },
    )
  })

  it('a decoded event is one encodeEnvelope accepts and gives back unchanged', () => {
    fc.assert(
      fc.property(envelopeInputArb, fc.array(mutationArb, { minLength: 1, maxLength: 4 }), (g, muts) => {
        const bytes = mutate(
          encodeEnvelope({
            type: g.type,
            timestamp: g.timestamp,
            metadata: g.metadata,
            stream: g.stream,
            payload: g.body.payload,
            rawPayload: g.body.rawPayload,
          }),
          muts,
        )
        const header = decodedOrUndefined(() => decodeEnvelopeHeader(bytes))
        const event = decodedOrUndefined(() => decodeEvent(3, bytes))
        if (header === undefined || event === undefined) return
        const written = reencode(event, header.rawPayload)
        const again = decodeEvent(3, written)
        expect([again.type, again.timestamp, again.stream]).toEqual([
          event.type,
          event.timestamp,
          event.stream,
        ])
        // Compared by their encodings: equal values with NaN inside (an invalid Date) are not deep-equal.
        expect(hex(reencode(again, header.rawPayload))).toBe(hex(written))
      }),
      { numRuns: runs(1000) },
    )
  })

  it(
    'out of process: the fuzz neither crashes the process nor hangs',
    async () => {
      // A native abort (cbor-x may read strings through a native addon) or an endless loop would
      // take the test runner down with it or stall it, and a stalled synchronous loop cannot time
      // out in-process. A child runs the same fuzz under a generous deadline instead.
      const seed = Date.now() % 2 ** 31
      const child = spawnTypeScript(
        new URL('./fixtures/fuzz-decoders.ts', import.meta.url),
        [String(seed), String(runs(300))],
        { stdio: ['ignore', 'pipe', 'pipe'] },
      )
      let stdout = ''
      let stderr = ''
      child.stdout!.on('data', (d: Buffer) => {
        stdout += d.toString()
      })
      child.stderr!.on('data', (d: Buffer) => {
        stderr += d.toString()
      })
      let hung = false
      // Not a performance bound: the fuzz takes seconds; only a loop that never ends reaches it.
      const deadline = setTimeout(() => {
        hung = true
        child.kill('SIGKILL')
      }, FUZZ_DEADLINE_MS)
      const [code, signal] = await new Promise<[number | null, string | null]>((resolve) =>
        child.on('exit', (c, s) => resolve([c, s])),
      )
      clearTimeout(deadline)
      expect(hung, `seed ${seed}: the fuzz was still running after ${FUZZ_DEADLINE_MS} ms`).toBe(false)
      expect(stderr, `seed ${seed}`).toBe('')
      expect(stdout.trim(), `seed ${seed}`).toBe('ok')
      expect([code, signal], `seed ${seed}`).toEqual([0, null])
    },
    FUZZ_DEADLINE_MS + 60_000,
  )

  it('on hostile CBOR: deep nesting, huge lengths, odd tags', () => {
    const cases: Uint8Array[] = [
      new Uint8Array(200_000).fill(0x81), // [[[[...]]]] deeper than the stack
      new Uint8Array(200_000).fill(0xa1), // {{{...}}}
      new Uint8Array([...new Uint8Array(100_000).fill(0xd8).map((_, i) => (i % 2 ? 0x1c : 0xd8)), 0x01]),
      new Uint8Array([0x9a, 0xff, 0xff, 0xff, 0xff, 0x01]),
      new Uint8Array([0x9b, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01]),
      new Uint8Array([0x5a, 0xff, 0xff, 0xff, 0xff, 0x01]),
      new Uint8Array([0x7a, 0xff, 0xff, 0xff, 0xff, 0x61]),
      new Uint8Array([0xd8, 0x56, 0x43, 0x01, 0x02, 0x03]), // Float64Array of 3 bytes
      new Uint8Array([0xd8, 0x1b, 0x83, 0x66, ...Buffer.from('RegExp'), 0x61, 0x28, 0x60]), // RegExp('(')
      new Uint8Array([0xd8, 0x1d, 0x05]), // reference to a value never shared
      new Uint8Array([0xd9, 0xdf, 0xff, 0x82, 0x01, 0x81, 0x61, 0x61]),
      new Uint8Array([0xd9, 0xe0, 0x00, 0x01]),
      new Uint8Array([0xc1, 0x7b, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff]),
      new Uint8Array([0xc2, 0x5a, 0xff, 0xff, 0xff, 0xff]),
      // A '__proto__' key beside keys no object can have (an array, a map), and inside a Set and a Tag.
      new Uint8Array([0xa2, 0x69, ...Buffer.from('__proto__'), 0x01, 0x81, 0x01, 0x02]),
      new Uint8Array([0xa2, 0x69, ...Buffer.from('__proto__'), 0x01, 0xa0, 0x02]),
      new Uint8Array([
        0xd9,
        0x01,
        0x02,
        0x81,
        0xa1,
        0x69,
        ...Buffer.from('__proto__'),
        0xa1,
        0x61,
        0x61,
        0x01,
      ]),
      new Uint8Array([0xda, 0, 1, 0, 0, 0xa1, 0x69, ...Buffer.from('__proto__'), 0x61, 0xc3]),
      new Uint8Array([0xa1, 0x69, ...Buffer.from('__proto__')]), // truncated after the key
    ]
    for (const c of cases) {
      feedAll(c)
      feedAll(new Uint8Array([9, ...c]))
    }
  })

  it('decoders still work after they have seen garbage', () => {
    fc.assert(
      fc.property(plausibleBytes, typedValueArb, (garbage, v) => {
        feedAll(garbage)
        feedAll(new Uint8Array([9, ...garbage]))
        expect(decodeTypedValue(encodeTypedValue(v)).equals(v)).toBe(true)
        expect(decodeCbor(encodeCbor({ a: [1, 'b'] }), 'check')).toEqual({ a: [1, 'b'] })
      }),
      { numRuns: runs(500) },
    )
  })

  it('a decoded json value never depends on what was decoded before', () => {
    // Record definitions (cbor-x tags 0xdf00..) must not leak from one decode into the next.
    const record = new Uint8Array([0xd9, 0xe0, 0x00, 0x01])
    const before = (() => {
      try {
        return { value: decodeCbor(record, 'r') }
      } catch {
        return { error: true }
      }
    })()
    decodesOrCorruption(() =>
      decodeCbor(new Uint8Array([0xd9, 0xdf, 0xff, 0x82, 0x00, 0x81, 0x61, 0x61]), 'd'),
    )
    decodesOrCorruption(() =>
      decodeCbor(new Uint8Array([0xd9, 0xe0, 0x00, 0x82, 0x00, 0x81, 0x61, 0x61]), 'd'),
    )
    const after = (() => {
      try {
        return { value: decodeCbor(record, 'r') }
      } catch {
        return { error: true }
      }
    })()
    expect(after).toEqual(before)
    expect(decodeTypedValue(encodeTypedValue(TypedValue.json({ x: 1 }))).asJson()).toEqual({ x: 1 })
  })
})
