import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { Azoth, silentLogger } from 'azothdb'
import { describe, expect, it } from 'vitest'
import { azothdb, handlersModule, jsonLines, jsonObject } from './support/cli.js'
import { buildSampleDatabase, SAMPLE } from './support/sample-database.js'
import { tempDir } from './support/temp-dir.js'

async function withdrawalIds(dir: string): Promise<number[]> {
  const db = await Azoth.openReadOnly(dir, { logger: silentLogger })
  try {
    const rows = await db.query<{ id: number }>('SELECT id FROM withdrawals ORDER BY id')
    return rows.map((r) => r.id)
  } finally {
    await db.close()
  }
}

describe('projector run and rebuild', () => {
  it('run applies pending events with the module handlers; one that dead-letters exits 1', async () => {
    const dir = tempDir()
    await buildSampleDatabase(dir)
    const db = await Azoth.open(dir, { logger: silentLogger })
    await db.writeBatch().appendEvent('withdrawn', { account: 'acct/bob', amount: 1 }).commit()
    await db.writeBatch().appendEvent('poison', { account: 'acct/bob' }).commit()
    await db.close()

    const run = await azothdb([
      'projector',
      'run',
      dir,
      '--handlers',
      handlersModule,
      '--name',
      'withdrawals',
      '--json',
    ])
    expect(run.code).toBe(1)
    expect(jsonObject(run.stdout)).toMatchObject({
      projector: 'withdrawals',
      mode: 'run',
      from: SAMPLE.head,
      cursor: SAMPLE.head + 2,
      events: 2,
      deadLettered: 1,
      stoppedBy: 'caughtUp',
    })
    expect(await withdrawalIds(dir)).toEqual([1, 2, 3, 5, 6, 7, SAMPLE.head + 1])

    // Caught up, nothing new: exit 0, and `audit` (defined by the module too) starts from event 1.
    const again = await azothdb(['projector', 'run', dir, '--handlers', handlersModule, '--json'])
    expect(again.code).toBe(0)
    expect(jsonLines(again.stdout)).toEqual([
      expect.objectContaining({ projector: 'withdrawals', events: 0, cursor: SAMPLE.head + 2 }),
      expect.objectContaining({
        projector: 'audit',
        from: 0,
        events: SAMPLE.head + 2,
        cursor: SAMPLE.head + 2,
      }),
    ])
  })

  it('rebuild resets the projection and replays every event; the fixed handler applies the poison', async () => {
    const dir = tempDir()
    await buildSampleDatabase(dir)
    const run = await azothdb(
      ['projector', 'rebuild', dir, '--handlers', handlersModule, '--name', 'withdrawals'],
      {
        AZOTH_TEST_POISON_FIXED: '1',
      },
    )
    expect(run.code).toBe(0)
    expect(run.stdout).toMatch(/│ cursor\s+│ 0 → 8 of 8\s+│/)
    expect(run.stdout).toMatch(/│ dead-lettered\s+│ 0\s+│/)
    // Rebuilt from scratch: every event once (no duplicate key), the poison one included; its dead letter gone.
    expect(await withdrawalIds(dir)).toEqual([1, 2, 3, 4, 5, 6, 7])
    const db = await Azoth.openReadOnly(dir, { logger: silentLogger })
    expect(await db.deadLetters.count()).toBe(0)
    await db.close()
  })

  it('a module that is not a handlers module, or lacks the projector, is refused', async () => {
    const dir = tempDir()
    await buildSampleDatabase(dir)
    const bad = join(tempDir(), 'bad.mjs')
    writeFileSync(bad, 'export default 42\n')
    const [notAMap, unknownName] = await Promise.all([
      azothdb(['projector', 'run', dir, '--handlers', bad]),
      azothdb(['projector', 'run', dir, '--handlers', handlersModule, '--name', 'ledger']),
    ])
    expect(notAMap.code).toBe(1)
    expect(notAMap.stderr).toMatch(
      /^azothdb: INVALID_ARGUMENT: the handlers module .*bad\.mjs must export by default an object/,
    )
    expect(unknownName.stderr).toMatch(
      /^azothdb: NOT_FOUND: the handlers module defines no projector 'ledger' \(it defines withdrawals, audit\)/,
    )
  })
})

describe('dlq retry and remove', () => {
  it('retry fails again (exit 1, attempts counted) until the handler is fixed, then applies and removes the row', async () => {
    const dir = tempDir()
    await buildSampleDatabase(dir)
    const failing = await azothdb(['dlq', 'retry', dir, '1', '--handlers', handlersModule, '--json'])
    expect(failing.code).toBe(1)
    expect(jsonObject(failing.stdout)).toMatchObject({ id: 1, applied: false, error: 'event 4 is poison' })
    const reader = await Azoth.openReadOnly(dir, { logger: silentLogger })
    expect(await reader.deadLetters.get(1)).toMatchObject({ attempts: 2, eventId: 4 })
    await reader.close()
    const fixed = await azothdb(['dlq', 'retry', dir, '1', '--handlers', handlersModule, '--json'], {
      AZOTH_TEST_POISON_FIXED: '1',
    })
    expect(fixed.code).toBe(0)
    expect(jsonObject(fixed.stdout)).toEqual({ id: 1, projector: 'withdrawals', eventId: 4, applied: true })
    expect(await withdrawalIds(dir)).toEqual([1, 2, 3, 4, 5, 6, 7])
    const gone = await azothdb(['dlq', 'retry', dir, '1', '--handlers', handlersModule])
    expect(gone.code).toBe(1)
    expect(gone.stderr).toBe('azothdb: NOT_FOUND: no dead letter 1\n')
  })

  it('remove deletes the row; removing it again is NOT_FOUND', async () => {
    const dir = tempDir()
    await buildSampleDatabase(dir)
    const removed = await azothdb(['dlq', 'remove', dir, '1'])
    expect(removed.code).toBe(0)
    expect(removed.stdout).toBe('dead letter 1 removed\n')
    const again = await azothdb(['dlq', 'remove', dir, '1'])
    expect(again.code).toBe(1)
    expect(again.stderr).toBe('azothdb: NOT_FOUND: no dead letter 1\n')
    const db = await Azoth.openReadOnly(dir, { logger: silentLogger })
    expect(await db.deadLetters.count()).toBe(0)
    await db.close()
  })
})
