/**
 * The consumer of outgrow-one-machine: a service on another host that reads the events from
 * JetStream with the official NATS client only (nothing of Azoth). An ordered consumer delivers
 * the stream's messages in order from the first; each carries the Azoth event id in a header, so
 * the consumer can check that the stream holds every event once, in commit order, and fold the
 * deposits into balances of its own.
 *
 * Run: tsx consumer.ts <nats url> <stream>   (then write the head to stdin)
 */
import { createInterface } from 'node:readline'
import { jetstream } from '@nats-io/jetstream'
import { connect } from '@nats-io/transport-node'

const [servers, stream] = process.argv.slice(2) as [string, string]
const nc = await connect({ servers })
const consumer = await jetstream(nc).consumers.get(stream)
const messages = await consumer.consume()

// The writer sends the head once it has committed everything: read up to it, then stop.
let head: number | undefined
const ids: number[] = []
const stopAtHead = (): void => {
  if (head !== undefined && ids.length >= head) void messages.stop()
}
createInterface({ input: process.stdin }).once('line', (line) => {
  head = Number(line)
  stopAtHead()
})

const balances: Record<string, { amount: number; deposits: number }> = {}
for await (const msg of messages) {
  ids.push(Number(msg.headers?.get('Azoth-Event-Id')))
  if (decodeURIComponent(msg.headers?.get('Azoth-Event-Type') ?? '') === 'Deposited') {
    const { account, amount } = msg.json<{ account: string; amount: number }>()
    const b = (balances[account] ??= { amount: 0, deposits: 0 })
    b.amount += amount
    b.deposits++
  }
  stopAtHead()
}
await nc.close()

const inOrder = ids.every((id, i) => id === i + 1)
console.log(
  `${ids.length} events, ids ${ids[0]}..${ids.at(-1)}, each once and in order: ${inOrder && ids.length === head}`,
)
const sorted = Object.fromEntries(Object.entries(balances).sort(([a], [b]) => (a < b ? -1 : 1)))
console.log(`balances folded from JetStream: ${JSON.stringify(sorted)}`)
