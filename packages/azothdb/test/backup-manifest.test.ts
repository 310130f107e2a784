// A backup's manifest.json is the root of trust of the backup: it names every file, its checksum and
// what the restored database must hold. Damage to it must never be believed.
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { Azoth, type BackupManifest, isAzothError, silentLogger } from 'azothdb'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { balancesProjector, openAccounts, runTransfers, snapshotBank } from './support/bank.js'
import { CapturingLogger } from './support/capturing-logger.js'
import { tempDir } from './support/temp-dir.js'

/** What a faithful restore must give back: head, state digest, state, events and projection rows. */
async function viewOf(db: Azoth): Promise<unknown> {
  return { digest: db.stateDigest(), ...(await snapshotBank(db)) }
}

/** Restores `backupDir` into `target` and describes what went wrong, or returns undefined. */
async function restoreProblem(
  backupDir: string,
  target: string,
  expected: unknown,
): Promise<string | undefined> {
  let db: Azoth
  try {
    db = await Azoth.restoreFrom(backupDir, target, { logger: silentLogger })
  } catch (e) {
    if (!isAzothError(e, 'CORRUPTION')) return `refused with ${String(e)}, not CORRUPTION`
    const left = readdirSync(join(target, '..'))
    return left.length === 0 ? undefined : `refused with CORRUPTION but left ${left.join(', ')}`
  }
  try {
    const view = await viewOf(db)
    expect(view).toEqual(expected)
    return undefined
  } catch (e) {
    return `restored a different database: ${String(e).split('\n')[0]}`
  } finally {
    await db.close()
  }
}

/** Reads the manifest the way the cli does: it must be refused, or say exactly what was written. */
function readProblem(backupDir: string, written: BackupManifest): string | undefined {
  let read: BackupManifest
  try {
    read = Azoth.readBackupManifest(backupDir)
  } catch (e) {
    return isAzothError(e, 'CORRUPTION') ? undefined : `readBackupManifest: ${String(e)}, not CORRUPTION`
  }
  try {
    expect(read).toEqual(written)
    return undefined
  } catch (e) {
    return `readBackupManifest believed a different manifest: ${String(e).split('\n')[0]}`
  }
}

describe.each(['lmdb', 'file'] as const)('a backup manifest checks itself (eventLog %s)', (eventLog) => {
  let root: string
  let backupDir: string
  let manifestPath: string
  let pristine: Buffer
  let expected: unknown

  beforeAll(async () => {
    // Kept for the whole describe: tempDir cleans up after each test.
    root = `${tempDir()}-keep`
    backupDir = join(root, 'backup')
    manifestPath = join(backupDir, 'manifest.json')
    const db = await Azoth.open(join(root, 'db'), { eventLog, logger: silentLogger })
    const projector = await balancesProjector(db)
    await openAccounts(db, 20)
    await runTransfers(db, {
      callers: 4,
      accounts: 20,
      maxAmount: 300,
      seed: 7,
      idBase: 1,
      stop: (n) => n >= 40,
    })
    await projector.runOnce()
    await db.backupTo(backupDir)
    expected = await viewOf(db)
    await db.close()
    pristine = readFileSync(manifestPath)
  }, 60_000)

  afterAll(() => rmSync(root, { recursive: true, force: true }))

  it('every single flipped bit of manifest.json is CORRUPTION with nothing left, or restores the same database', async () => {
    const problems: string[] = []
    const targets = join(root, 'targets')
    const written = Azoth.readBackupManifest(backupDir)
    for (let bit = 0; bit < pristine.length * 8; bit++) {
      const damaged = Buffer.from(pristine)
      damaged[bit >> 3]! ^= 1 << (bit & 7)
      writeFileSync(manifestPath, damaged)
      rmSync(targets, { recursive: true, force: true })
      mkdirSync(targets)
      const problem =
        readProblem(backupDir, written) ??
        (await restoreProblem(backupDir, join(targets, 'restored'), expected))
      if (problem !== undefined) {
        const at = pristine.subarray(Math.max(0, (bit >> 3) - 12), (bit >> 3) + 12).toString('utf8')
        problems.push(`bit ${bit} (byte ${bit >> 3}, near ${JSON.stringify(at)}): ${problem}`)
      }
    }
    writeFileSync(manifestPath, pristine)
    expect(
      problems.length,
      `${problems.length} of ${pristine.length * 8} flips:\n${problems.slice(0, 30).join('\n')}`,
    ).toBe(0)
  }, 600_000)

  it('the manifest as written comes back from readBackupManifest, checksum included', () => {
    const manifest = Azoth.readBackupManifest(backupDir)
    expect(manifest.format).toBe(2)
    expect(manifest.checksum).toMatch(/^[0-9a-f]{64}$/)
    expect(manifest).toEqual(JSON.parse(pristine.toString('utf8')))
  })

  it('a flipped bit in the checksum field itself is CORRUPTION saying the checksum does not match', async () => {
    const manifest = JSON.parse(pristine.toString('utf8')) as BackupManifest
    const text = pristine.toString('utf8')
    const at = text.indexOf(manifest.checksum!)
    for (const offset of [at, at + 31, at + 63]) {
      const damaged = Buffer.from(pristine)
      damaged[offset]! ^= 0x01
      writeFileSync(manifestPath, damaged)
      const target = join(tempDir(), 'target')
      const outcome = await Azoth.restoreFrom(backupDir, target, { logger: silentLogger }).then(
        async (db) => {
          await db.close()
          return 'restored'
        },
        (e: unknown) => e,
      )
      expect(isAzothError(outcome, 'CORRUPTION'), String(outcome)).toBe(true)
      expect((outcome as Error).message).toBe(
        `backup manifest ${manifestPath} is damaged: its checksum does not match`,
      )
      expect((outcome as { details?: unknown }).details).toEqual({ where: manifestPath })
      expect(existsSync(target)).toBe(false)
    }
    writeFileSync(manifestPath, pristine)
  })

  it('a format-2 manifest without its checksum is CORRUPTION; a format-1 one (from before checksums) restores with a warning', async () => {
    const { checksum: _, ...content } = JSON.parse(pristine.toString('utf8')) as BackupManifest
    writeFileSync(manifestPath, JSON.stringify(content, null, 2))
    expect(() => Azoth.readBackupManifest(backupDir)).toThrow(
      expect.objectContaining({
        code: 'CORRUPTION',
        message: `backup manifest ${manifestPath} is damaged: it has no checksum`,
      }),
    )
    await expect(
      Azoth.restoreFrom(backupDir, join(tempDir(), 'target'), { logger: silentLogger }),
    ).rejects.toMatchObject({
      code: 'CORRUPTION',
    })

    writeFileSync(manifestPath, JSON.stringify({ ...content, format: 1 }, null, 2))
    expect(Azoth.readBackupManifest(backupDir)).toEqual({ ...content, format: 1 })
    const log = new CapturingLogger()
    await using db = await Azoth.restoreFrom(backupDir, join(tempDir(), 'target'), { logger: log.logger() })
    expect(await viewOf(db)).toEqual(expected)
    expect(
      log.one(
        'the backup manifest predates manifest checksums: damage to it cannot be detected, only to the files it lists',
      ),
    ).toMatchObject({
      level: 'warn',
      fields: { backupDir, format: 1 },
    })
    writeFileSync(manifestPath, pristine)
  })

  it('a format-1 manifest that carries a checksum must match it too', () => {
    const manifest = JSON.parse(pristine.toString('utf8')) as BackupManifest
    writeFileSync(manifestPath, JSON.stringify({ ...manifest, format: 1 }, null, 2))
    expect(() => Azoth.readBackupManifest(backupDir)).toThrow(expect.objectContaining({ code: 'CORRUPTION' }))
    writeFileSync(manifestPath, pristine)
  })
})

describe('Azoth.readBackupManifest', () => {
  it('refuses a bad argument with INVALID_ARGUMENT and a directory without a manifest with CORRUPTION', () => {
    for (const bad of [undefined, 42, '', 'a\u0000b'])
      expect(() => Azoth.readBackupManifest(bad as string)).toThrow(
        expect.objectContaining({ code: 'INVALID_ARGUMENT' }),
      )
    const empty = tempDir()
    expect(() => Azoth.readBackupManifest(empty)).toThrow(
      expect.objectContaining({ code: 'CORRUPTION', details: { where: join(empty, 'manifest.json') } }),
    )
  })

  it('refuses JSON that is not a manifest of a known format with CORRUPTION', () => {
    const dir = tempDir()
    for (const text of ['[]', 'null', '"manifest"', '{"format": 3}', '{"format": "2"}', '{}']) {
      writeFileSync(join(dir, 'manifest.json'), text)
      expect(() => Azoth.readBackupManifest(dir), text).toThrow(
        expect.objectContaining({ code: 'CORRUPTION' }),
      )
    }
  })
})
