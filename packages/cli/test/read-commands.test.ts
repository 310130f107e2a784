import { Azoth, silentLogger } from 'azothdb'
import { describe, expect, it } from 'vitest'
import { azothdb, jsonLines, jsonObject } from './support/cli.js'
import { buildSampleDatabase, SAMPLE } from './support/sample-database.js'
import { tempDir } from './support/temp-dir.js'

describe.each(['lmdb', 'file'] as const)('read commands (eventLog %s)', (eventLog) => {
  it('status --json reports head, keys, disk use, projectors and dead letters; exit 1 for the dead letter', async () => {
    const dir = tempDir()
    await buildSampleDatabase(dir, eventLog)
    const run = await azothdb(['status', dir, '--json'])
    expect(run.stderr).toBe('')
    expect(run.code).toBe(1)
    const status = jsonObject(run.stdout)
    expect(status).toMatchObject({
      format: 1,
      eventLog,
      head: SAMPLE.head,
      keys: SAMPLE.keys,
      projectors: [{ name: 'withdrawals', cursor: SAMPLE.head, lag: 0, state: 'caughtUp', deadLetters: 1 }],
      deadLetters: { pending: 1, retrying: 0, permanent: 0 },
      problems: ['1 dead letter (azothdb dlq list)'],
    })
    const disk = status.disk as Record<string, number>
    expect(disk.canonical).toBeGreaterThan(0)
    expect(disk.projection).toBeGreaterThan(0)
    expect(eventLog === 'file' ? disk.events! > 0 : disk.events === 0).toBe(true)
    expect(disk.total).toBeGreaterThanOrEqual(disk.canonical! + disk.events! + disk.projection!)
  })

  it('events lists the log as JSON lines', async () => {
    const dir = tempDir()
    await buildSampleDatabase(dir, eventLog)
    const all = await azothdb(['events', dir, '--json'])
    expect(all.code).toBe(0)
    const events = jsonLines(all.stdout)
    expect(events.map((e) => e.id)).toEqual([1, 2, 3, 4, 5, 6, 7, 8])
    expect(events[3]).toMatchObject({ type: 'poison', payload: { account: 'acct/alice', amount: 40 } })
  })
})

describe('read commands', () => {
  it('events filters by id range, type and limit, as JSON lines and as a table', async () => {
    const dir = tempDir()
    await buildSampleDatabase(dir)

    const filtered = await azothdb([
      'events',
      dir,
      '--json',
      '--from',
      '2',
      '--to',
      '7',
      '--type',
      'withdrawn',
      '--limit',
      '3',
    ])
    expect(jsonLines(filtered.stdout).map((e) => e.id)).toEqual([2, 3, 5])

    const twoTypes = await azothdb(['events', dir, '--type', 'poison', '--type', 'opened'])
    expect(twoTypes.code).toBe(0)
    const lines = twoTypes.stdout.trimEnd().split('\n')
    expect(lines[0]).toMatch(/^id\s+time\s+type\s+stream\s+payload$/)
    expect(lines.slice(1).map((l) => l.split(/\s+/)[0])).toEqual(['4', '8'])
    expect(lines[2]).toContain('{"account":"acct/carol"}')
  })

  it('get decodes each kind of value, byte keys with --hex; a missing key is NOT_FOUND, exit 1', async () => {
    const dir = tempDir()
    await buildSampleDatabase(dir)
    const [i64, bytes, missing, table] = await Promise.all([
      azothdb(['get', dir, 'acct/alice', '--json']),
      azothdb(['get', dir, '--hex', 'ff0001', '--json']),
      azothdb(['get', dir, 'acct/nobody']),
      azothdb(['get', dir, 'name']),
    ])
    expect(jsonObject(i64.stdout)).toEqual({ key: 'acct/alice', kind: 'i64', value: '500' })
    expect(jsonObject(bytes.stdout)).toEqual({ keyHex: 'ff0001', kind: 'bytes', value: 'AQID' })
    expect(missing.code).toBe(1)
    expect(missing.stdout).toBe('')
    expect(missing.stderr).toMatch(/^azothdb: NOT_FOUND: .*acct\/nobody/)
    expect(table.code).toBe(0)
    expect(table.stdout).toMatch(/│ kind\s+│ string\s+│/)
    expect(table.stdout).toContain('"Azoth demo"')
  })

  it('scan lists entries under a prefix in key order, up to --limit', async () => {
    const dir = tempDir()
    await buildSampleDatabase(dir)
    const [prefixed, limited] = await Promise.all([
      azothdb(['scan', dir, '--prefix', 'acct/', '--json']),
      azothdb(['scan', dir, '--limit', '2']),
    ])
    expect(jsonLines(prefixed.stdout)).toEqual([
      { key: 'acct/alice', kind: 'i64', value: '500' },
      { key: 'acct/bob', kind: 'i64', value: '20' },
    ])
    expect(limited.code).toBe(0)
    expect(limited.stdout).toContain('acct/alice')
    expect(limited.stdout).toContain('acct/bob')
    expect(limited.stdout).not.toContain('tags')
    expect(limited.stderr).toContain('2 entries shown; more with --limit')
  })

  it('query runs SQL on the projection read-only: rows as JSON lines or a table; writes are refused', async () => {
    const dir = tempDir()
    await buildSampleDatabase(dir)
    const [rows, table, write] = await Promise.all([
      azothdb(['query', dir, 'SELECT id, amount FROM withdrawals ORDER BY id', '--json']),
      azothdb(['query', dir, 'SELECT count(*) AS n, sum(amount) AS total FROM withdrawals']),
      azothdb(['query', dir, 'DELETE FROM withdrawals']),
    ])
    expect(jsonLines(rows.stdout)).toEqual([1, 2, 3, 5, 6, 7].map((id) => ({ id, amount: id * 10 })))
    expect(table.stdout).toMatch(/│ n\s+│ total\s+│/)
    expect(table.stdout).toMatch(/│ 6\s+│ 240\s+│/)
    expect(write.code).toBe(1)
    expect(write.stderr).toMatch(/^azothdb: INVALID_ARGUMENT: /)
    const db = await Azoth.openReadOnly(dir, { logger: silentLogger })
    try {
      expect(await db.query('SELECT count(*) AS n FROM withdrawals')).toEqual([{ n: 6 }])
    } finally {
      await db.close()
    }
  })

  it('projector list and dlq list/show read cursors and dead letters', async () => {
    const dir = tempDir()
    await buildSampleDatabase(dir)
    const [projectors, letters, shown] = await Promise.all([
      azothdb(['projector', 'list', dir, '--json']),
      azothdb(['dlq', 'list', dir, '--json']),
      azothdb(['dlq', 'show', dir, '1', '--json']),
    ])
    expect(jsonLines(projectors.stdout)).toEqual([
      { name: 'withdrawals', cursor: SAMPLE.head, lag: 0, state: 'caughtUp', deadLetters: 1 },
    ])
    const [letter] = jsonLines(letters.stdout)
    expect(letter).toMatchObject({
      id: 1,
      projector: 'withdrawals',
      eventId: SAMPLE.poisonEventId,
      eventType: 'poison',
      status: 'pending',
      attempts: 1,
      errorMessage: `event ${SAMPLE.poisonEventId} is poison`,
    })
    expect(letter).not.toHaveProperty('envelope')
    expect(jsonObject(shown.stdout)).toMatchObject({
      id: 1,
      event: { id: SAMPLE.poisonEventId, type: 'poison', payload: { account: 'acct/alice', amount: 40 } },
    })
  })
})
