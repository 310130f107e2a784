import { Azoth } from 'azothdb'
import { describe, expect, it } from 'vitest'
import { killWhileRunning, spawnTypeScript } from '../../../vitest.shared.js'
import { tempDir } from './support/temp-dir.js'

const ROUNDS = process.env.AZOTH_STRESS ? 20 : 3
const WORKERS = 12
const STREAMS_PER_WORKER = 3

interface Ack {
  readonly stream: string
  readonly version: bigint
  readonly eventId: number
}

/** Runs the child, SIGKILLs it at a random moment while it appends, returns its acknowledged appends. */
async function runAndKill(dir: string, eventLog: string): Promise<Ack[]> {
  const child = spawnTypeScript(new URL('./fixtures/streams-crash.ts', import.meta.url), [
    dir,
    eventLog,
    String(WORKERS),
    String(STREAMS_PER_WORKER),
  ])
  const acks: Ack[] = []
  await killWhileRunning(
    child,
    (line) => {
      if (line.startsWith('ack ')) {
        const [, stream, version, eventId] = line.split(' ')
        acks.push({ stream: stream!, version: BigInt(version!), eventId: Number(eventId) })
      }
    },
    { minMs: 100, spreadMs: 600 },
  )
  return acks
}

describe.each(['lmdb', 'file'] as const)('streams under SIGKILL (eventLog %s)', (eventLog) => {
  it(`per-stream versions stay gapless and the index matches the log (${ROUNDS} rounds)`, async () => {
    const dir = tempDir()
    const acked: Ack[] = []
    for (let round = 0; round < ROUNDS; round++) {
      acked.push(...(await runAndKill(dir, eventLog)))
      await using db = await Azoth.open(dir, { eventLog })

      // The index rebuilt from the log: every stream event, by stream, in id order.
      const rebuilt = new Map<string, { id: number; version: bigint; fromTx: boolean }[]>()
      for (const e of db.events()) {
        if (e.stream === undefined) continue
        const list = rebuilt.get(e.stream.name) ?? []
        list.push({ id: e.id, version: e.stream.version, fromTx: (e.payload as { n: number }).n % 2 === 1 })
        rebuilt.set(e.stream.name, list)
      }
      for (const [stream, list] of rebuilt) {
        // Gapless versions from 0, in the order of the global log.
        expect(list.map((e) => e.version)).toEqual(list.map((_, i) => BigInt(i)))
        // The index names exactly those events, and its head is the last one.
        const read = await db.readStream(stream)
        expect(read.events.map((e) => e.id)).toEqual(list.map((e) => e.id))
        expect(read.currentStreamVersion).toBe(BigInt(list.length - 1))
        // State written in the same transactions as stream events landed with them, and only then.
        const count = db.getOpt(`count/${stream}`)?.asI64() ?? 0n
        expect(count).toBe(BigInt(list.filter((e) => e.fromTx).length))
      }
      expect([...db.streams()].map((s) => [s.name, s.version])).toEqual(
        [...rebuilt.keys()].sort().map((name) => [name, BigInt(rebuilt.get(name)!.length - 1)]),
      )
      // Every acknowledged append is there, at the version and id it was acknowledged with.
      const missing = acked.filter(
        (a) => rebuilt.get(a.stream)?.find((e) => e.version === a.version)?.id !== a.eventId,
      )
      expect(missing).toEqual([])
      // The index itself (entries, open blocks, heads) checks out against the events.
      expect((await db.verify()).problems).toEqual([])
    }
    expect(acked.length).toBeGreaterThan(0)
  }, 300_000)
})
