import { existsSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { Azoth, silentLogger } from 'azothdb'
import { describe, expect, it } from 'vitest'
import { tempDir } from './support/temp-dir.js'

const OPEN = { paused: false, sealedAt: undefined, since: undefined }

describe('db.ingestionState()', () => {
  it("reports pauses and seals, to the writer and to a read-only open of another process's view", async () => {
    const dir = tempDir()
    const db = await Azoth.open(dir, { logger: silentLogger })
    await db.writeBatch().appendEvent('e').commit()
    const reader = await Azoth.openReadOnly(dir, { logger: silentLogger })
    expect(db.ingestionState()).toEqual(OPEN)
    expect(reader.ingestionState()).toEqual(OPEN)

    await db.pauseIngestion()
    expect(db.ingestionState()).toMatchObject({ paused: true, sealedAt: undefined })
    expect(reader.ingestionState()).toEqual(db.ingestionState())
    expect(Number.isNaN(Date.parse(reader.ingestionState().since!))).toBe(false)

    await db.seal()
    expect(reader.ingestionState()).toMatchObject({ paused: true, sealedAt: 1 })
    db.resumeIngestion()
    expect(reader.ingestionState()).toMatchObject({ paused: false, sealedAt: 1 })
    db.unseal()
    expect(db.ingestionState()).toEqual(OPEN)
    expect(reader.ingestionState()).toEqual(OPEN)
    expect(existsSync(join(dir, 'ingestion.json'))).toBe(false)

    // Sealed when the writer closes: its seal ends with it.
    await db.seal()
    expect(reader.ingestionState().sealedAt).toBe(1)
    await db.close()
    expect(reader.ingestionState()).toEqual(OPEN)
    await reader.close()
  })

  it('a state file left by a dead writer reads as open, and the next writer removes it', async () => {
    const dir = tempDir()
    await (await Azoth.open(dir, { logger: silentLogger })).close()
    const dead = 2 ** 22 + 12_345 // above Linux's pid_max: no such process
    writeFileSync(
      join(dir, 'ingestion.json'),
      JSON.stringify({ pid: dead, paused: true, sealedAt: 3, since: new Date().toISOString() }),
    )
    const reader = await Azoth.openReadOnly(dir, { logger: silentLogger })
    expect(reader.ingestionState()).toEqual(OPEN)
    await reader.close()
    await using db = await Azoth.open(dir, { logger: silentLogger })
    expect(existsSync(join(dir, 'ingestion.json'))).toBe(false)
    expect(db.ingestionState()).toEqual(OPEN)
  })

  it('a backup shows as paused while it copies and as open after', async () => {
    const dir = tempDir()
    await using db = await Azoth.open(dir, { logger: silentLogger })
    await db.writeBatch().appendEvent('e').commit()
    const reader = await Azoth.openReadOnly(dir, { logger: silentLogger })
    const seen: boolean[] = []
    db.projector({
      name: 'watcher',
      handlers: [
        {
          eventTypes: '*',
          handle: () => {
            seen.push(reader.ingestionState().paused)
          },
        },
      ],
    })
    await db.backupTo(join(tempDir(), 'b'))
    expect(seen).toEqual([true]) // the projector caught up inside the backup's pause
    expect(reader.ingestionState()).toEqual(OPEN)
    await reader.close()
  })
})
