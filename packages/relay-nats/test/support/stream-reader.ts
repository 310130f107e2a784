// Reads a stream back the way a consumer on another machine would: the official client, an
// ordered consumer from the first message.
import { jetstream, jetstreamManager } from '@nats-io/jetstream'
import { connect } from '@nats-io/transport-node'

/** One message as a consumer sees it. */
export interface ReadMessage {
  readonly seq: number
  readonly subject: string
  readonly headers: Record<string, string>
  readonly data: Uint8Array
}

/** Every message `stream` holds, in stream order. */
export async function readStream(url: string, stream: string): Promise<ReadMessage[]> {
  const nc = await connect({ servers: url })
  try {
    const jsm = await jetstreamManager(nc)
    const total = (await jsm.streams.info(stream)).state.messages
    const out: ReadMessage[] = []
    if (total === 0) return out
    const consumer = await jetstream(nc).consumers.get(stream)
    while (out.length < total) {
      const batch = await consumer.fetch({ max_messages: Math.min(1000, total - out.length), expires: 2000 })
      for await (const m of batch) {
        const headers: Record<string, string> = {}
        for (const k of m.headers?.keys() ?? []) headers[k] = m.headers?.get(k) ?? ''
        out.push({ seq: m.seq, subject: m.subject, headers, data: m.data })
      }
    }
    return out
  } finally {
    await nc.close()
  }
}

/** The event ids of `messages` (from their `Azoth-Event-Id` headers), in stream order. */
export function eventIds(messages: readonly ReadMessage[]): number[] {
  return messages.map((m) => Number(m.headers['Azoth-Event-Id']))
}

/** Resolves once `check` holds, polling; rejects after `timeoutMs` with `what`. */
export async function eventually(
  check: () => boolean | Promise<boolean>,
  what: string,
  timeoutMs = 30_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await new Promise((r) => setTimeout(r, 20))
  }
}
