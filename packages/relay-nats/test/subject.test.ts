import { defaultSubject, encodeJson, subjectToken } from '@azothdb/relay-nats'
import type { AzothEvent } from 'azothdb'
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'

function event(type: string, stream: string | undefined, payload: unknown): AzothEvent {
  return {
    id: 7,
    type,
    timestamp: 0,
    metadata: undefined,
    stream: stream === undefined ? undefined : { name: stream, version: 0n },
    payload,
  }
}

describe('subjects and payloads', () => {
  it('any type and stream name give a publishable three-token subject', () => {
    fc.assert(
      fc.property(
        fc.string({ unit: 'grapheme' }),
        fc.option(fc.string({ unit: 'grapheme' }), { nil: undefined }),
        (type, stream) => {
          const tokens = defaultSubject(event(type, stream, null)).split('.')
          expect(tokens).toHaveLength(3)
          expect(tokens[0]).toBe('azoth')
          for (const t of tokens) {
            expect(t).not.toBe('')
            expect(t).not.toMatch(/[.*>\s\p{Cc}]/u)
          }
          // A token keeps every character a subject can carry.
          const category = stream === undefined ? '_' : (stream.split('-')[0] ?? '')
          expect(tokens[1]).toBe(category === '' ? '_' : category.replace(/[.*>\s\p{Cc}]/gu, '_'))
          expect(tokens[2]).toBe(subjectToken(type))
        },
      ),
    )
    expect(defaultSubject(event('Placed', 'order-1', null), 'shop.events')).toBe('shop.events.order.Placed')
  })

  it('JSON payloads: bigints as decimal strings, bytes as base64, the rest as JSON.stringify gives it', () => {
    const model = (v: unknown): unknown =>
      typeof v === 'bigint'
        ? v.toString()
        : v instanceof Uint8Array
          ? Buffer.from(v).toString('base64')
          : Array.isArray(v)
            ? v.map(model)
            : typeof v === 'object' && v !== null
              ? Object.fromEntries(Object.entries(v).map(([k, x]) => [k, model(x)]))
              : v
    const leaf = fc.oneof(
      fc.bigInt(),
      fc.uint8Array(),
      fc.string(),
      fc.integer(),
      fc.boolean(),
      fc.constant(null),
    )
    const value = fc.letrec((tie) => ({
      node: fc.oneof(
        { depthSize: 'small' },
        leaf,
        fc.array(tie('node')),
        fc.dictionary(fc.string(), tie('node')),
      ),
    })).node
    fc.assert(
      fc.property(fc.dictionary(fc.string(), value), (payload) => {
        const encoded = encodeJson(event('T', undefined, payload))
        expect(encoded.contentType).toBe('application/json')
        expect(JSON.parse(new TextDecoder().decode(encoded.data))).toEqual(model(payload))
      }),
    )
    const raw = new Uint8Array([0, 255])
    expect(encodeJson(event('T', undefined, raw))).toEqual({
      data: raw,
      contentType: 'application/octet-stream',
    })
    expect(() => encodeJson(event('T', undefined, { s: new Set([1]) }))).toThrow(
      expect.objectContaining({ code: 'INVALID_ARGUMENT' }),
    )
  })
})
