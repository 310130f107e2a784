import { Azoth, silentLogger } from 'azothdb'
import { afterEach, expect, it } from 'vitest'
import { exited } from '../../../vitest.shared.js'
import { OutputLines, spawnAzothdb } from './support/cli.js'
import { buildSampleDatabase, SAMPLE } from './support/sample-database.js'
import { tempDir } from './support/temp-dir.js'

const running: ReturnType<typeof spawnAzothdb>[] = []

afterEach(async () => {
  for (const child of running.splice(0)) {
    child.kill('SIGKILL')
    await exited(child)
  }
})

it('events --follow --type prints matching events committed after it started, then exits 0 on SIGINT', async () => {
  const dir = tempDir()
  await buildSampleDatabase(dir)
  const follower = spawnAzothdb(['events', dir, '--follow', '--type', 'deposited'])
  running.push(follower)
  const output = new OutputLines(follower)
  // The table's header is printed once the feed is open: what is committed now is new to it.
  await output.waitFor((line) => line.startsWith('id '))
  const db = await Azoth.open(dir, { logger: silentLogger })
  try {
    for (const [type, amount] of [
      ['deposited', 5],
      ['withdrawn', 7],
      ['deposited', 9],
    ] as const) {
      await db.writeBatch().appendEvent(type, { amount }).commit()
    }
    await output.waitFor((line) => line.includes('"amount":9'))
  } finally {
    await db.close()
  }
  follower.kill('SIGINT')
  const code = await new Promise<number | null>((resolve) => follower.once('exit', (c) => resolve(c)))
  expect(code).toBe(0)
  const rows = output.lines.slice(1).map((line) => line.split(/\s+/))
  expect(rows.map((cells) => [cells[0], cells[2], cells[3]])).toEqual([
    [String(SAMPLE.head + 1), 'deposited', '{"amount":5}'],
    [String(SAMPLE.head + 3), 'deposited', '{"amount":9}'],
  ])
})
