import { Azoth, type ExpectedStreamVersion } from 'azothdb'
import { describe, expect, it } from 'vitest'
import { killWhileRunning, spawnTypeScript } from '../../../vitest.shared.js'
import { sendRequest } from './support/idempotent-requests.js'
import { tempDir } from './support/temp-dir.js'

const ROUNDS = process.env.AZOTH_STRESS ? 20 : 3
const WORKERS = 12

interface Request {
  readonly key: string
  readonly kind: 'append' | 'tx'
  readonly stream: string
  readonly count: number
  readonly expected: ExpectedStreamVersion
}

/** Runs the child, SIGKILLs it at a random moment; returns the requests it sent and those acknowledged. */
async function runAndKill(
  dir: string,
  eventLog: string,
  round: number,
): Promise<{ sent: Request[]; acked: Set<string> }> {
  const child = spawnTypeScript(new URL('./fixtures/idempotency-crash.ts', import.meta.url), [
    dir,
    eventLog,
    String(round),
    String(WORKERS),
  ])
  const sent: Request[] = []
  const acked = new Set<string>()
  await killWhileRunning(
    child,
    (line) => {
      const [word, key, kind, stream, count, expected] = line.split(' ')
      if (word === 'send') {
        sent.push({
          key: key!,
          kind: kind as Request['kind'],
          stream: stream!,
          count: Number(count),
          expected: expected === 'no_stream' ? 'no_stream' : BigInt(expected!),
        })
      } else if (word === 'ack') acked.add(key!)
    },
    { minMs: 100, spreadMs: 600 },
  )
  return { sent, acked }
}

describe.each(['lmdb', 'file'] as const)('idempotent requests under SIGKILL (eventLog %s)', (eventLog) => {
  it(`every request retried with its key applies exactly once (${ROUNDS} rounds)`, async () => {
    const dir = tempDir()
    const all: Request[] = []
    let retried = 0
    for (let round = 0; round < ROUNDS; round++) {
      const { sent, acked } = await runAndKill(dir, eventLog, round)
      all.push(...sent)
      await using db = await Azoth.open(dir, { eventLog })
      // The client's retry: every request it never heard back about, again, with the same key and
      // the same expected version (only its worker writes its stream, so that version still holds
      // if the request did not apply).
      for (const r of sent.filter((s) => !acked.has(s.key))) {
        // Applied before the kill or not (either may happen): it must now be there exactly once.
        await sendRequest(db, r.kind, r.key, r.stream, r.count, r.expected)
        retried++
      }
      // A second retry of everything this round sent is a duplicate, acknowledged or not.
      for (const r of sent.slice(-WORKERS)) {
        expect((await sendRequest(db, r.kind, r.key, r.stream, r.count, r.expected)).duplicate).toBe(true)
      }

      // The index rebuilt from the log, and each request's events in it.
      const rebuilt = new Map<string, { id: number; version: bigint }[]>()
      const byKey = new Map<string, bigint[]>()
      for (const e of db.events()) {
        const list = rebuilt.get(e.stream!.name) ?? []
        list.push({ id: e.id, version: e.stream!.version })
        rebuilt.set(e.stream!.name, list)
        const { key } = e.payload as { key: string }
        byKey.set(key, [...(byKey.get(key) ?? []), e.stream!.version])
      }
      // Exactly once: every request sent so far has its events in the log once, at consecutive versions.
      for (const r of all) {
        const versions = byKey.get(r.key)
        expect(versions, r.key).toBeDefined()
        expect(versions!.length, r.key).toBe(r.count)
        expect(versions!.map((v) => v - versions![0]!)).toEqual(versions!.map((_, i) => BigInt(i)))
      }
      expect(byKey.size).toBe(all.length)
      for (const [stream, list] of rebuilt) {
        expect(list.map((e) => e.version)).toEqual(list.map((_, i) => BigInt(i)))
        const read = await db.readStream(stream)
        expect(read.events.map((e) => e.id)).toEqual(list.map((e) => e.id))
        // The transactions' state writes landed exactly once with their events.
        const fromTx = all
          .filter((r) => r.stream === stream && r.kind === 'tx')
          .reduce((n, r) => n + r.count, 0)
        expect(db.getOpt(`count/${stream}`)?.asI64() ?? 0n).toBe(BigInt(fromTx))
      }
      expect([...db.streams()].map((s) => [s.name, s.version])).toEqual(
        [...rebuilt.keys()].sort().map((name) => [name, BigInt(rebuilt.get(name)!.length - 1)]),
      )
    }
    expect(all.length).toBeGreaterThan(0)
    // Each round leaves up to one request per worker unacknowledged.
    expect(retried).toBeGreaterThan(0)
  }, 300_000)
})
