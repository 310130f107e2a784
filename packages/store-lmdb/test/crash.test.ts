import { decodeEvent } from '@azothdb/core'
import { openLmdbStore } from '@azothdb/store-lmdb'
import { describe, expect, it } from 'vitest'
import { exited, spawnTypeScript } from '../../../vitest.shared.js'
import { tempDir } from './support/temp-dir.js'

const ROUNDS = process.env.AZOTH_STRESS ? 60 : 6

/** Starts the commit loop, waits for some acknowledgements, kills it at a random moment. */
async function runAndKill(dir: string, base: number, durability: string): Promise<number[]> {
  const child = spawnTypeScript(new URL('./fixtures/commit-loop.ts', import.meta.url), [
    dir,
    String(base),
    '8',
    durability,
  ])
  const acked: number[] = []
  let buffer = ''
  let stderr = ''
  child.stderr?.on('data', (d: Buffer) => {
    stderr += d.toString()
  })
  await new Promise<void>((resolve, reject) => {
    const killAt = 20 + Math.floor(Math.random() * 400)
    child.stdout?.on('data', (d: Buffer) => {
      buffer += d.toString()
      const lines = buffer.split('\n')
      buffer = lines.pop() ?? ''
      for (const line of lines) {
        if (line.startsWith('ack ')) acked.push(Number(line.slice(4)))
        if (line === 'ready') setTimeout(() => child.kill('SIGKILL'), killAt)
      }
    })
    child.on('exit', (code, signal) => {
      if (signal === 'SIGKILL') resolve()
      else reject(new Error(`child exited with ${code}: ${stderr}`))
    })
  })
  await exited(child)
  return acked
}

async function verify(dir: string, acked: Set<number>): Promise<number> {
  const store = await openLmdbStore(dir)
  try {
    const head = store.head()
    // Ids are gapless from 1 to head, and every transaction's two events are both there.
    let expected = 1
    const txs = new Set<number>()
    let pendingFirst: number | undefined
    for (const record of store.events()) {
      expect(record.id).toBe(expected++)
      const event = decodeEvent<{ n: number }>(record.id, record.bytes)
      if (event.type === 'first') {
        expect(pendingFirst).toBeUndefined()
        pendingFirst = event.payload.n
      } else {
        expect(event.type).toBe('second')
        expect(event.payload.n).toBe(pendingFirst)
        txs.add(event.payload.n)
        pendingFirst = undefined
      }
    }
    expect(pendingFirst).toBeUndefined()
    expect(expected - 1).toBe(head)
    // State and events agree: a transaction is wholly present or wholly absent.
    const keys = new Set([...store.scan('k/')].map((e) => Number(e.value.asI64())))
    const mirrors = new Set([...store.scan('mirror/')].map((e) => Number((e.key as string).slice(7))))
    expect(keys).toEqual(txs)
    expect(mirrors).toEqual(txs)
    // Every acknowledged commit survived.
    for (const n of acked) expect(txs.has(n)).toBe(true)
    return head
  } finally {
    await store.close()
  }
}

describe('crash safety', () => {
  for (const durability of ['sync', 'relaxed']) {
    it(`survives SIGKILL at random moments (${durability}, ${ROUNDS} rounds)`, async () => {
      const dir = tempDir()
      const acked = new Set<number>()
      let lastHead = 0
      for (let round = 0; round < ROUNDS; round++) {
        for (const n of await runAndKill(dir, round * 1_000_000, durability)) acked.add(n)
        const head = await verify(dir, acked)
        expect(head).toBeGreaterThanOrEqual(lastHead)
        lastHead = head
      }
      expect(acked.size).toBeGreaterThan(0)
    }, 120_000)
  }
})
