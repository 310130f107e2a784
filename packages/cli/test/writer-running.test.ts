import { Azoth, silentLogger } from 'azothdb'
import { afterEach, describe, expect, it } from 'vitest'
import { exited, spawnTypeScript } from '../../../vitest.shared.js'
import { azothdb, handlersModule, jsonLines, jsonObject, OutputLines, spawnAzothdb } from './support/cli.js'
import { buildSampleDatabase, SAMPLE } from './support/sample-database.js'
import { tempDir } from './support/temp-dir.js'

const running: ReturnType<typeof spawnTypeScript>[] = []

afterEach(async () => {
  for (const child of running.splice(0)) {
    child.kill('SIGKILL')
    await exited(child)
  }
})

/** Starts fixtures/writer.ts on `dir` (an application committing continuously); resolves once it has committed. */
async function startWriter(dir: string): Promise<void> {
  const writer = spawnTypeScript(new URL('./fixtures/writer.ts', import.meta.url), [dir])
  running.push(writer)
  const ready = await new OutputLines(writer).waitFor((line) => line.startsWith('ready '))
  if (!ready.startsWith('ready ')) throw new Error(`the writer did not start: ${ready}`)
}

/** Starts fixtures/held-writer.ts: a writer that paused or sealed ingestion and holds it. */
async function startHeldWriter(dir: string, hold: 'pause' | 'seal'): Promise<number> {
  const writer = spawnTypeScript(new URL('./fixtures/held-writer.ts', import.meta.url), [dir, hold])
  running.push(writer)
  const ready = await new OutputLines(writer).waitFor((line) => line.startsWith('ready '))
  if (!ready.startsWith('ready ')) throw new Error(`the writer did not start: ${ready}`)
  return Number(ready.slice('ready '.length))
}

describe('status shows what the writer process holds', () => {
  it('a paused writer: paused, not sealed; in the table too', async () => {
    const dir = tempDir()
    await buildSampleDatabase(dir)
    const head = await startHeldWriter(dir, 'pause')
    const run = await azothdb(['status', dir, '--json'])
    const status = jsonObject(run.stdout)
    expect(status.head).toBe(head)
    expect(status.ingestion).toMatchObject({ paused: true, sealedAt: null })
    expect(typeof (status.ingestion as { since: unknown }).since).toBe('string')
    const table = await azothdb(['status', dir])
    expect(table.stdout).toMatch(/ingestion\s.*paused \(new commits wait\) since \d{4}-/)
  })

  it('a sealed writer: sealed at its head; once it is gone (killed), taking commits again', async () => {
    const dir = tempDir()
    await buildSampleDatabase(dir)
    const head = await startHeldWriter(dir, 'seal')
    const sealed = jsonObject((await azothdb(['status', dir, '--json'])).stdout)
    expect(sealed.ingestion).toMatchObject({ paused: false, sealedAt: head })
    expect((await azothdb(['status', dir])).stdout).toContain(
      `sealed at event ${head} (new commits are refused)`,
    )
    const writer = running.pop()!
    writer.kill('SIGKILL')
    await exited(writer)
    const after = jsonObject((await azothdb(['status', dir, '--json'])).stdout)
    expect(after.ingestion).toEqual({ paused: false, sealedAt: null, since: null })
    expect((await azothdb(['status', dir])).stdout).toContain('taking commits')
  })
})

describe('while a writer process commits continuously', () => {
  it('read commands work on the live database', async () => {
    const dir = tempDir()
    await buildSampleDatabase(dir)
    await startWriter(dir)
    const [status, value, events, query] = await Promise.all([
      azothdb(['status', dir, '--json']),
      azothdb(['get', dir, 'writer/count', '--json']),
      azothdb(['events', dir, '--from', String(SAMPLE.head + 1), '--limit', '5', '--json']),
      azothdb(['query', dir, 'SELECT count(*) AS n FROM withdrawals', '--json']),
    ])
    const s = jsonObject(status.stdout)
    expect(s.head).toBeGreaterThan(SAMPLE.head)
    expect(s.keys).toBe(SAMPLE.keys + 1)
    // The writer runs no projector: the sample's projector falls behind as it commits.
    expect(s.projectors).toEqual([
      expect.objectContaining({ name: 'withdrawals', cursor: SAMPLE.head, state: 'behind' }),
    ])
    expect(jsonObject(value.stdout)).toMatchObject({ key: 'writer/count', kind: 'i64' })
    const ticks = jsonLines(events.stdout)
    expect(ticks.map((e) => e.id)).toEqual([9, 10, 11, 12, 13])
    expect(ticks.map((e) => (e.payload as { i: number }).i)).toEqual([1, 2, 3, 4, 5])
    expect(jsonObject(query.stdout)).toEqual({ n: 6 })
  })

  it('commands that write refuse with LOCKED, exit 1, and change nothing', async () => {
    const dir = tempDir()
    await buildSampleDatabase(dir)
    const backupDir = `${tempDir()}/backup`
    const db = await Azoth.open(dir, { logger: silentLogger })
    await db.backupTo(backupDir).finally(() => db.close())
    await startWriter(dir)
    const refused = await Promise.all([
      azothdb(['dlq', 'retry', dir, '1', '--handlers', handlersModule]),
      azothdb(['dlq', 'remove', dir, '1']),
      azothdb(['projector', 'rebuild', dir, '--handlers', handlersModule]),
      azothdb(['backup', dir, `${tempDir()}/copy`]),
      azothdb(['restore', backupDir, dir, '--replace']),
    ])
    for (const run of refused) {
      expect(run.code).toBe(1)
      expect(run.stdout).toBe('')
      expect(run.stderr).toMatch(/^azothdb: LOCKED: .* is held by process \d+ .*: stop that process first/)
      expect(run.stderr).not.toMatch(/\n\s+at /)
    }
    const reader = await Azoth.openReadOnly(dir, { logger: silentLogger })
    try {
      expect(await reader.deadLetters.list()).toEqual([expect.objectContaining({ id: 1, attempts: 1 })])
      expect(reader.getOpt('acct/alice')?.asI64()).toBe(500n)
    } finally {
      await reader.close()
    }
  })

  it('events --follow prints events the writer commits after it started, until SIGINT', async () => {
    const dir = tempDir()
    await buildSampleDatabase(dir)
    await startWriter(dir)
    const reader = await Azoth.openReadOnly(dir, { logger: silentLogger })
    const headBefore = reader.head()
    await reader.close()
    const follower = spawnAzothdb(['events', dir, '--follow', '--json'])
    running.push(follower)
    const output = new OutputLines(follower)
    await output.waitFor(() => output.lines.length >= 5)
    follower.kill('SIGINT')
    const code = await new Promise<number | null>((resolve) => follower.once('exit', (c) => resolve(c)))
    expect(code).toBe(0)
    const events = output.lines.map((line) => JSON.parse(line) as { id: number; type: string })
    // Only events committed after the follower started (the default start is after the head), in order.
    expect(events[0]!.id).toBeGreaterThan(headBefore)
    expect(events.every((e) => e.type === 'ticked')).toBe(true)
    expect(events.map((e) => e.id - events[0]!.id)).toEqual(events.map((_, i) => i))
  })
})
