import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { startNatsRelay } from '@azothdb/relay-nats'
import { jetstream } from '@nats-io/jetstream'
import { connect } from '@nats-io/transport-node'
import { Azoth, silentLogger } from 'azothdb'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type NatsServer, natsUnavailable, startNatsServer } from './support/nats-server.js'

// The README's two examples, run: the writer's side with the relay, a consumer with the official client.
describe.skipIf(natsUnavailable !== undefined)(
  `README examples${natsUnavailable ? ` (skipped: ${natsUnavailable})` : ''}`,
  () => {
    let server: NatsServer
    beforeAll(async () => {
      server = await startNatsServer()
    })
    afterAll(async () => {
      await server?.destroy()
    })

    it('a consumer with the official client reads what the relay shipped, filtered by category', async () => {
      const dir = mkdtempSync(join(tmpdir(), 'azoth-relay-readme-'))
      const db = await Azoth.open(dir, { logger: silentLogger })
      try {
        const relay = startNatsRelay(db, { servers: server.url, stream: 'SHOP', logger: silentLogger })
        expect(await relay.ready).toBe(0)
        await db.appendToStream('order-42', [{ type: 'OrderPlaced', data: { total: 1200n } }])
        await db.appendToStream('cart-7', [{ type: 'ItemAdded', data: { sku: 's' } }])
        await db.appendToStream('order-43', [{ type: 'OrderPlaced', data: { total: 5n } }])

        const nc = await connect({ servers: server.url })
        const seen: unknown[] = []
        const consumer = await jetstream(nc).consumers.get('SHOP', { filter_subjects: 'azoth.order.>' })
        const messages = await consumer.consume()
        for await (const msg of messages) {
          const id = Number(msg.headers?.get('Azoth-Event-Id'))
          const type = decodeURIComponent(msg.headers?.get('Azoth-Event-Type') ?? '')
          const stream = decodeURIComponent(msg.headers?.get('Azoth-Stream') ?? '')
          seen.push([id, type, stream, msg.json()])
          if (seen.length === 2) break
        }
        await nc.close()
        expect(seen).toEqual([
          [1, 'OrderPlaced', 'order-42', { total: '1200' }],
          [3, 'OrderPlaced', 'order-43', { total: '5' }],
        ])
        await relay.stop()
      } finally {
        await db.close()
        rmSync(dir, { recursive: true, force: true })
      }
    })
  },
)
