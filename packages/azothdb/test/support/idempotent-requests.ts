import type { Azoth, ExpectedStreamVersion } from 'azothdb'
import { TypedValue } from 'azothdb'

// Requests of the idempotency crash test: sent by its child process, retried by the test.

/** The request `key`'s events: the same bytes on every retry. */
export function requestEvents(
  key: string,
  count: number,
): { type: string; data: { key: string; i: number } }[] {
  return Array.from({ length: count }, (_, i) => ({ type: 'Requested', data: { key, i } }))
}

/** Sends one request: a plain append, or a transaction that also counts the stream's events in state. */
export async function sendRequest(
  db: Azoth,
  kind: 'append' | 'tx',
  key: string,
  stream: string,
  count: number,
  expectedStreamVersion: ExpectedStreamVersion,
): Promise<{ version: bigint; duplicate: boolean }> {
  const events = requestEvents(key, count)
  if (kind === 'append') {
    const r = await db.appendToStream(stream, events, { expectedStreamVersion, idempotencyKey: key })
    return { version: r.nextExpectedStreamVersion, duplicate: r.duplicate }
  }
  const counter = `count/${stream}`
  const info = await db
    .transaction()
    .idempotencyKey(key)
    .keys([counter])
    .streams([stream])
    .execute((tx) => {
      tx.update(counter, (v) => TypedValue.i64((v?.asI64() ?? 0n) + BigInt(count)))
      return tx.appendToStream(stream, events, { expectedStreamVersion }).nextExpectedStreamVersion
    })
  return { version: info.result, duplicate: info.duplicate }
}
