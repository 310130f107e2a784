import {
  decodeEvent,
  decodeTypedValue,
  type EnvelopeInput,
  encodeEnvelope,
  encodeTypedValue,
  TypedValue,
} from '@azothdb/core'
import { encodeCbor, readEventType } from '@azothdb/core/internal'
import type { Case, Section } from '../harness.js'
import { prng } from '../prng.js'

// Results land here so the engine cannot drop the measured work as dead code.
const blackhole = { value: undefined as unknown, count: 0 }

const TAGS = ['admin', 'billing', 'dev', 'editor', 'ops', 'support', 'viewer', 'auditor']
const MIX = ['i64', 'u256', 'string', 'json', 'set'] as const

/** The same data twice: as typed values for Azoth, and as plain JS (bigints kept) for JSON. */
interface ValueMix {
  typed: TypedValue[]
  plain: unknown[]
}

function buildValueMix(count: number): ValueMix {
  const random = prng(42)
  const int = (max: number) => Math.floor(random() * max)
  const typed: TypedValue[] = []
  const plain: unknown[] = []
  for (let i = 0; i < count; i++) {
    let value: unknown
    switch (MIX[i % MIX.length]) {
      case 'i64':
        value = BigInt(int(2 ** 52)) * BigInt(int(2000) - 1000)
        typed.push(TypedValue.i64(value as bigint))
        break
      case 'u256':
        value = BigInt(int(1e9)) * 10n ** 18n + BigInt(int(1e15))
        typed.push(TypedValue.u256(value as bigint))
        break
      case 'string':
        value = `customer-${int(1e6)}@example.org`
        typed.push(TypedValue.string(value as string))
        break
      case 'json':
        value = {
          orderId: `ord-${i}`,
          customer: `cust-${int(1000)}`,
          items: [
            { sku: `sku-${int(500)}`, qty: 1 + int(5), price: int(10000) / 100 },
            { sku: `sku-${int(500)}`, qty: 1 + int(5), price: int(10000) / 100 },
          ],
          paid: random() < 0.5,
        }
        typed.push(TypedValue.json(value))
        break
      default: {
        const members = TAGS.filter(() => random() < 0.5)
        const set = TypedValue.set(members)
        value = set.value // the canonical (sorted, deduplicated) members, as JSON would store them
        typed.push(set)
      }
    }
    plain.push(value)
  }
  return { typed, plain }
}

/** JSON has no bigint: the baseline writes bigints as decimal strings, inside the timed work. */
function jsonEncode(v: unknown): string {
  return typeof v === 'bigint' ? JSON.stringify(v.toString()) : JSON.stringify(v)
}

function average(items: readonly { length: number }[]): number {
  let total = 0
  for (const item of items) total += item.length
  return Math.round(total / items.length)
}

function typedValueCases(label: string, { typed, plain }: ValueMix, opsPerRun: number): Case[] {
  const count = typed.length
  const encoded = typed.map(encodeTypedValue)
  const json = plain.map(jsonEncode)
  const isBigInt = plain.map((v) => typeof v === 'bigint')
  const params = {
    kinds: label === 'mix' ? MIX.join(',') : label,
    values: count,
    avgBytes: average(encoded),
    avgJsonChars: average(json),
  }
  return [
    {
      name: `TypedValue encode (${label})`,
      unit: 'values',
      params,
      ours: {
        run() {
          for (let i = 0; i < opsPerRun; i++) blackhole.count += encodeTypedValue(typed[i % count]!).length
          return opsPerRun
        },
      },
      raw: {
        run() {
          for (let i = 0; i < opsPerRun; i++) blackhole.count += jsonEncode(plain[i % count]).length
          return opsPerRun
        },
      },
    },
    {
      name: `TypedValue decode (${label})`,
      unit: 'values',
      params,
      ours: {
        run() {
          for (let i = 0; i < opsPerRun; i++) blackhole.value = decodeTypedValue(encoded[i % count]!)
          return opsPerRun
        },
      },
      raw: {
        run() {
          for (let i = 0; i < opsPerRun; i++) {
            const k = i % count
            const v: unknown = JSON.parse(json[k]!)
            blackhole.value = isBigInt[k] ? BigInt(v as string) : v
          }
          return opsPerRun
        },
      },
    },
  ]
}

const EVENT_TYPES = ['AccountCredited', 'AccountDebited', 'TransferRequested']

function buildEnvelopes(count: number): EnvelopeInput[] {
  const random = prng(7)
  const int = (max: number) => Math.floor(random() * max)
  const inputs: EnvelopeInput[] = []
  for (let i = 0; i < count; i++) {
    inputs.push({
      type: EVENT_TYPES[i % EVENT_TYPES.length]!,
      timestamp: 1_790_000_000_000 + i * 37,
      metadata: { correlationId: `corr-${int(1e9).toString(36)}-${i}` },
      payload: {
        accountId: `acc-${String(int(1e6)).padStart(6, '0')}`,
        amount: int(1_000_000),
        currency: 'EUR',
        reference: `invoice 2026-11-${String(int(1e4)).padStart(4, '0')}`,
        tags: ['sepa', 'instant'],
      },
    })
  }
  return inputs
}

function envelopeCases(count: number, opsPerRun: number): Case[] {
  const inputs = buildEnvelopes(count)
  const encoded = inputs.map(encodeEnvelope)
  const json = inputs.map((e) => JSON.stringify(e))
  const params = {
    events: count,
    payloadBytes: average(inputs.map((e) => encodeCbor(e.payload))),
    envelopeBytes: average(encoded),
    jsonChars: average(json),
    metadata: 'correlationId',
  }
  return [
    {
      name: 'envelope encode',
      unit: 'events',
      params,
      ours: {
        run() {
          for (let i = 0; i < opsPerRun; i++) blackhole.count += encodeEnvelope(inputs[i % count]!).length
          return opsPerRun
        },
      },
      raw: {
        run() {
          for (let i = 0; i < opsPerRun; i++) blackhole.count += JSON.stringify(inputs[i % count]).length
          return opsPerRun
        },
      },
    },
    {
      name: 'envelope decode (decodeEvent)',
      unit: 'events',
      params,
      ours: {
        run() {
          for (let i = 0; i < opsPerRun; i++) blackhole.value = decodeEvent(i + 1, encoded[i % count]!)
          return opsPerRun
        },
      },
      raw: {
        run() {
          for (let i = 0; i < opsPerRun; i++) blackhole.value = JSON.parse(json[i % count]!)
          return opsPerRun
        },
      },
    },
    {
      name: 'read event type only',
      unit: 'events',
      params: { ...params, raw: 'JSON.parse(...).type' },
      ours: {
        run() {
          for (let i = 0; i < opsPerRun; i++) blackhole.value = readEventType(encoded[i % count]!)
          return opsPerRun
        },
      },
      raw: {
        run() {
          for (let i = 0; i < opsPerRun; i++)
            blackhole.value = (JSON.parse(json[i % count]!) as { type: string }).type
          return opsPerRun
        },
      },
    },
  ]
}

/** Codecs of @azothdb/core against JSON.stringify / JSON.parse of the same data. */
const section: Section = {
  name: 'core',
  description: 'TypedValue and event envelope codecs vs JSON.stringify/JSON.parse of the same data',
  cases({ quick }) {
    const count = quick ? 2_000 : 10_000
    const opsPerRun = quick ? 20_000 : 50_000
    const mix = buildValueMix(count)
    const cases = [...typedValueCases('mix', mix, opsPerRun)]
    for (const [i, kind] of MIX.entries()) {
      // Every MIX.length-th value has this kind: one case pair per kind shows where time goes.
      const only = (_: unknown, at: number) => at % MIX.length === i
      cases.push(
        ...typedValueCases(kind, { typed: mix.typed.filter(only), plain: mix.plain.filter(only) }, opsPerRun),
      )
    }
    return [...cases, ...envelopeCases(count, opsPerRun)]
  },
}

export default section
