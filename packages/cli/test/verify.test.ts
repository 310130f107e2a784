import { copyFileSync, cpSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { Azoth, silentLogger, TypedValue } from 'azothdb'
import { describe, expect, it } from 'vitest'
import { azothdb, jsonObject } from './support/cli.js'
import { tempDir } from './support/temp-dir.js'

const MARKER = 'verify-marker-0123456789'

async function build(eventLog: 'lmdb' | 'file'): Promise<string> {
  const dir = tempDir()
  const db = await Azoth.open(dir, { eventLog, logger: silentLogger })
  try {
    await db.writeBatch().put('acct/alice', 100n).put('note', TypedValue.string(MARKER)).commit()
    for (let i = 0; i < 5; i++) await db.writeBatch().appendEvent('deposited', { i, memo: MARKER }).commit()
  } finally {
    await db.close()
  }
  return dir
}

/** Flips one byte inside every copy of `marker` in `path`; returns how many copies there were. */
function flipInside(path: string, marker: string): number {
  const bytes = readFileSync(path)
  const needle = Buffer.from(marker)
  let copies = 0
  for (let at = bytes.indexOf(needle); at !== -1; at = bytes.indexOf(needle, at + 1)) {
    bytes[at + 3] = bytes[at + 3]! ^ 0x01
    copies++
  }
  writeFileSync(path, bytes)
  return copies
}

describe.each(['lmdb', 'file'] as const)('azothdb verify (eventLog %s)', (eventLog) => {
  it('a clean database: exit 0, every value and event checked', async () => {
    const dir = await build(eventLog)
    const run = await azothdb(['verify', dir, '--json'])
    expect(run.code).toBe(0)
    expect(jsonObject(run.stdout)).toMatchObject({
      ok: true,
      problems: [],
      checked: { keys: 2, events: 5, head: 5 },
    })
    const table = await azothdb(['verify', dir])
    expect(table.code).toBe(0)
    expect(table.stdout).toContain('2 keys, 5 events (head 5)')
  })

  it('a flipped byte in a stored value: exit 1, the key named', async () => {
    const dir = await build(eventLog)
    expect(flipInside(join(dir, 'canonical', 'data.mdb'), MARKER)).toBeGreaterThan(0)
    const run = await azothdb(['verify', dir, '--json'])
    expect(run.code).toBe(1)
    const report = jsonObject(run.stdout) as { ok: boolean; problems: { where: string }[] }
    expect(report.ok).toBe(false)
    expect(report.problems.some((p) => p.where.includes('note'))).toBe(true)
    const table = await azothdb(['verify', dir])
    expect(table.code).toBe(1)
    expect(table.stdout).toContain('DAMAGED')
  })

  it('a flipped byte in a stored event: exit 1, the event named', async () => {
    const dir = await build(eventLog)
    const files =
      eventLog === 'lmdb'
        ? [join(dir, 'canonical', 'data.mdb')]
        : readdirSync(join(dir, 'events'))
            .filter((f) => f.endsWith('.seg'))
            .map((f) => join(dir, 'events', f))
    // The value holds the marker too: damage only the events' copies, found after the value's.
    let flipped = 0
    for (const f of files) {
      const bytes = readFileSync(f)
      const needle = Buffer.from(`memo`)
      for (let at = bytes.indexOf(needle); at !== -1; at = bytes.indexOf(needle, at + 1)) {
        bytes[at + 1] = bytes[at + 1]! ^ 0x01
        flipped++
      }
      writeFileSync(f, bytes)
    }
    expect(flipped).toBeGreaterThan(0)
    const run = await azothdb(['verify', dir, '--json'])
    expect(run.code).toBe(1)
    const report = jsonObject(run.stdout) as { problems: { kind: string; where: string }[] }
    expect(report.problems.some((p) => p.where.startsWith('event'))).toBe(true)
  })
})

describe('azothdb verify: damage that breaks the log or ties the projection to other events', () => {
  it('a deleted segment of the file log: exit 1, CORRUPTION naming the missing events and the file', async () => {
    const dir = tempDir()
    const db = await Azoth.open(dir, { eventLog: 'file', segmentBytes: 4096, logger: silentLogger })
    for (let i = 0; i < 40; i++)
      await db
        .writeBatch()
        .appendEvent('deposited', { i, pad: 'x'.repeat(300) })
        .commit()
    await db.close()
    const segments = readdirSync(join(dir, 'events'))
      .filter((f) => f.endsWith('.seg'))
      .sort()
    expect(segments.length).toBeGreaterThanOrEqual(3)
    const deleted = segments[1]!
    const firstMissing = Number(deleted.slice(0, -'.seg'.length))
    const nextFirst = Number(segments[2]!.slice(0, -'.seg'.length))
    rmSync(join(dir, 'events', deleted))
    for (const args of [
      ['verify', dir],
      ['verify', dir, '--json'],
    ]) {
      const run = await azothdb(args)
      expect(run.code).toBe(1)
      expect(run.stdout).toBe('')
      expect(run.stderr).toMatch(/^azothdb: CORRUPTION: /)
      expect(run.stderr).toContain(`events ${firstMissing}..${nextFirst - 1} are missing`)
      expect(run.stderr).toContain(deleted)
      expect(run.stderr).not.toContain('    at ')
    }
  })

  it('a projector cursor past the head (a projection from a longer history): exit 1, the projector named', async () => {
    const dir = tempDir()
    const handlers = [{ eventTypes: '*' as const, handle: () => {} }]
    const db = await Azoth.open(dir, { logger: silentLogger })
    for (let i = 0; i < 3; i++) await db.writeBatch().appendEvent('deposited', { i }).commit()
    await db.close()
    const older = tempDir()
    cpSync(dir, older, { recursive: true })
    const longer = await Azoth.open(dir, { logger: silentLogger })
    for (let i = 3; i < 7; i++) await longer.writeBatch().appendEvent('deposited', { i }).commit()
    await longer.projector({ name: 'balances', handlers }).runOnce()
    await longer.close()
    // The older database (head 3) gets the projection of the longer one (cursor 7), with its seal.
    for (const file of ['projection.db', 'projection.db-seal'])
      copyFileSync(join(dir, file), join(older, file))
    const run = await azothdb(['verify', older, '--json'])
    expect(run.code).toBe(1)
    const report = jsonObject(run.stdout) as {
      ok: boolean
      problems: { kind: string; where: string; detail: string }[]
    }
    expect(report.ok).toBe(false)
    expect(report.problems).toEqual([
      expect.objectContaining({ kind: 'cursor', where: expect.stringContaining('balances'), eventId: 7 }),
    ])
    const table = await azothdb(['verify', older])
    expect(table.code).toBe(1)
    expect(table.stdout).toContain('DAMAGED')
    expect(table.stdout).toContain('balances')
    expect(table.stdout).toContain('beyond the head 3')
  })
})

describe('azothdb verify --backup', () => {
  it('a sound backup passes; a flipped byte in one of its files is CORRUPTION naming it, exit 1', async () => {
    const dir = await build('lmdb')
    const out = join(tempDir(), 'backup')
    expect((await azothdb(['backup', dir, out])).code).toBe(0)
    const sound = await azothdb(['verify', '--backup', out, '--json'])
    expect(sound.code).toBe(0)
    expect(jsonObject(sound.stdout)).toMatchObject({ ok: true, sealedEventId: 5, manifestChecked: true })
    const manifest = JSON.parse(readFileSync(join(out, 'manifest.json'), 'utf8')) as {
      files: { path: string }[]
    }
    const victim = manifest.files.find((f) => f.path.endsWith('projection.db'))!.path
    const bytes = readFileSync(join(out, victim))
    bytes[100] = bytes[100]! ^ 0xff
    writeFileSync(join(out, victim), bytes)
    const damaged = await azothdb(['verify', '--backup', out])
    expect(damaged.code).toBe(1)
    expect(damaged.stderr).toContain('CORRUPTION')
    expect(damaged.stderr).toContain('projection.db')
  })

  it('a flipped bit in the manifest is CORRUPTION naming it, exit 1; a format-1 manifest passes as not checked', async () => {
    const dir = await build('lmdb')
    const out = join(tempDir(), 'backup')
    expect((await azothdb(['backup', dir, out])).code).toBe(0)
    const manifestPath = join(out, 'manifest.json')
    const pristine = readFileSync(manifestPath)
    // The projection's backend: a flip there once made a restore drop the projection.
    const damaged = Buffer.from(pristine)
    damaged[damaged.indexOf('"sqlite"') + 1]! ^= 0x01
    writeFileSync(manifestPath, damaged)
    const run = await azothdb(['verify', '--backup', out])
    expect(run.code).toBe(1)
    expect(run.stdout).toBe('')
    expect(run.stderr).toBe(
      `azothdb: CORRUPTION: backup manifest ${manifestPath} is damaged: its checksum does not match\n`,
    )

    const { checksum: _, ...content } = JSON.parse(pristine.toString('utf8')) as Record<string, unknown>
    writeFileSync(manifestPath, JSON.stringify({ ...content, format: 1 }, null, 2))
    const old = await azothdb(['verify', '--backup', out])
    expect(old.code).toBe(0)
    expect(old.stdout).toContain('format 1, from before manifest checksums: not checked')
    const oldJson = await azothdb(['verify', '--backup', out, '--json'])
    expect(jsonObject(oldJson.stdout)).toMatchObject({ ok: true, manifestChecked: false })
  })

  it('a missing directory: exit 1 with NOT_FOUND or CORRUPTION, never a stack trace', async () => {
    const run = await azothdb(['verify', join(tempDir(), 'nothing-here')])
    expect(run.code).toBe(1)
    expect(run.stderr).toMatch(/azothdb: (NOT_FOUND|CORRUPTION):/)
    expect(run.stderr).not.toContain('    at ')
  })
})
