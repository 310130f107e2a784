import { createHash } from 'node:crypto'
import { cpSync, existsSync, readdirSync, readFileSync, rmSync, unlinkSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { Azoth, type BackupManifest, isAzothError } from 'azothdb'
import { beforeAll, describe, expect, it } from 'vitest'
import { balancesProjector, openAccounts, runTransfers, snapshotBank, transfer } from './support/bank.js'
import { expectBankInvariants } from './support/bank-assertions.js'
import { tempDir } from './support/temp-dir.js'

const ACCOUNTS = 300

async function expectCorruption(promise: Promise<unknown>): Promise<void> {
  const outcome = await promise.then(
    async (db) => {
      await (db as Azoth).close()
      return 'restored'
    },
    (e: unknown) => e,
  )
  expect(isAzothError(outcome, 'CORRUPTION'), `expected CORRUPTION, got ${String(outcome)}`).toBe(true)
}

function readManifest(dir: string): BackupManifest {
  return JSON.parse(readFileSync(join(dir, 'manifest.json'), 'utf8')) as BackupManifest
}

/**
 * Writes an edited manifest with a checksum that matches it, as a writer that meant it would: the
 * checks behind the checksum must refuse what the checksum cannot (an edit made on purpose).
 */
function writeManifest(dir: string, manifest: BackupManifest): void {
  const { checksum: _, ...content } = manifest
  const checksum = createHash('sha256').update(JSON.stringify(content)).digest('hex')
  writeFileSync(join(dir, 'manifest.json'), JSON.stringify({ ...content, checksum }, null, 2))
}

describe.each(['lmdb', 'file'] as const)('backup and restore (eventLog %s)', (eventLog) => {
  it('a backup taken under load restores to a database that keeps the bank invariants and accepts writes', async () => {
    const backupDir = join(tempDir(), 'backup')
    await using db = await Azoth.open(tempDir(), { eventLog })
    const projector = await balancesProjector(db)
    await openAccounts(db, ACCOUNTS)
    projector.start()
    let backupDone = false
    let afterBackup = 0
    let manifest: BackupManifest | undefined
    const load = runTransfers(db, {
      callers: 16,
      accounts: ACCOUNTS,
      maxAmount: 500,
      seed: 3,
      idBase: 1,
      // Keep transferring until the backup is done and a few more transfers went through.
      stop: () => backupDone && ++afterBackup > 200,
    })
    const backup = (async () => {
      // Let the load get going before sealing.
      while (db.head() < ACCOUNTS + 300) await new Promise((r) => setTimeout(r, 5))
      manifest = await db.backupTo(backupDir)
      backupDone = true
    })()
    const [{ accepted }] = await Promise.all([load, backup])
    await projector.stop()
    expect(manifest).toBeDefined()
    const sealed = manifest!.sealedEventId
    expect(sealed).toBeGreaterThan(ACCOUNTS)
    // Commits waited during the backup, none failed, and the load went on afterwards.
    expect(db.head()).toBe(ACCOUNTS + accepted.size)
    expect(db.head()).toBeGreaterThan(sealed)
    // The projector caught up to the seal before the copy.
    expect(manifest!.projectorCursors['balances']).toBe(sealed)
    await projector.runOnce()
    expectBankInvariants(await snapshotBank(db), ACCOUNTS)

    const restoreDir = join(tempDir(), 'restored')
    await using restored = await Azoth.restoreFrom(backupDir, restoreDir)
    expect(restored.eventLogKind).toBe(eventLog)
    expect(restored.head()).toBe(sealed)
    expect(restored.stateDigest()).toBe(manifest!.stateDigest)
    const restoredProjector = await balancesProjector(restored)
    // The projection was copied at the seal: nothing left to apply.
    expect((await restoredProjector.runOnce()).events).toBe(0)
    const snap = await snapshotBank(restored)
    expectBankInvariants(snap, ACCOUNTS)
    // The restored events are exactly the source's first `sealed` events.
    expect([...restored.events()]).toEqual([...db.events({ to: sealed })])
    // It accepts writes, and the projector follows them.
    let accepted2 = 0
    for (let i = 0; i < 20; i++) {
      if (
        (await transfer(restored, 9_000_000 + i, snap.state.keys().next().value!, 'acct/0001', 1)) !==
        undefined
      )
        accepted2++
    }
    expect(accepted2).toBeGreaterThan(0)
    expect(restored.head()).toBe(sealed + accepted2)
    await restoredProjector.runOnce()
    expectBankInvariants(await snapshotBank(restored), ACCOUNTS)
  }, 120_000)

  describe('a damaged backup is refused with CORRUPTION', () => {
    let pristine: string
    let manifest: BackupManifest

    beforeAll(async () => {
      // A backup kept for the whole describe: tempDir cleans up after each test, so make our own.
      const root = tempDir()
      pristine = join(`${root}-keep`, 'backup')
      const db = await Azoth.open(join(root, 'db'), { eventLog })
      const projector = await balancesProjector(db)
      await openAccounts(db, 50)
      await runTransfers(db, {
        callers: 8,
        accounts: 50,
        maxAmount: 300,
        seed: 1,
        idBase: 1,
        stop: (n) => n >= 200,
      })
      await projector.runOnce()
      manifest = await db.backupTo(pristine)
      await db.close()
      return () => rmSync(`${root}-keep`, { recursive: true, force: true })
    }, 60_000)

    function damagedCopy(): string {
      const dir = join(tempDir(), 'backup')
      cpSync(pristine, dir, { recursive: true })
      return dir
    }

    it('the pristine backup restores', async () => {
      await using db = await Azoth.restoreFrom(damagedCopy(), join(tempDir(), 'target'))
      expect(db.head()).toBe(manifest.sealedEventId)
    })

    it('lists every data file of the database', () => {
      const paths = manifest.files.map((f) => f.path)
      expect(paths).toContain('azoth.json')
      expect(paths).toContain('projection.db')
      expect(paths.some((p) => p.startsWith('canonical/'))).toBe(true)
      if (eventLog === 'file') expect(paths.some((p) => p.startsWith('events/'))).toBe(true)
    })

    it('one flipped byte in any data file', async () => {
      for (const file of manifest.files) {
        for (const where of [0, Math.floor(file.bytes / 2), file.bytes - 1]) {
          if (file.bytes === 0) continue
          const dir = damagedCopy()
          const path = join(dir, file.path)
          const bytes = readFileSync(path)
          bytes[where]! ^= 0x01
          writeFileSync(path, bytes)
          const target = join(tempDir(), 'target')
          await expectCorruption(Azoth.restoreFrom(dir, target))
          // Refused before anything was copied.
          expect(existsSync(target) && readdirSync(target).length > 0).toBe(false)
        }
      }
    }, 60_000)

    it('a missing data file', async () => {
      for (const file of manifest.files) {
        const dir = damagedCopy()
        unlinkSync(join(dir, file.path))
        await expectCorruption(Azoth.restoreFrom(dir, join(tempDir(), 'target')))
      }
    }, 60_000)

    it('a missing or unreadable manifest', async () => {
      const missing = damagedCopy()
      unlinkSync(join(missing, 'manifest.json'))
      await expectCorruption(Azoth.restoreFrom(missing, join(tempDir(), 'target')))
      const garbled = damagedCopy()
      writeFileSync(join(garbled, 'manifest.json'), '{"format": 1, "files": [')
      await expectCorruption(Azoth.restoreFrom(garbled, join(tempDir(), 'target')))
    })

    it('an edited manifest with a matching checksum: file checksum, size, state digest, sealed id', async () => {
      const edits: ((m: BackupManifest) => BackupManifest)[] = [
        (m) => ({ ...m, files: m.files.map((f, i) => (i === 0 ? { ...f, sha256: '0'.repeat(64) } : f)) }),
        (m) => ({ ...m, files: m.files.map((f, i) => (i === 0 ? { ...f, bytes: f.bytes + 1 } : f)) }),
        (m) => ({ ...m, stateDigest: m.stateDigest.replace(/^./, (c) => (c === '0' ? '1' : '0')) }),
        (m) => ({ ...m, sealedEventId: m.sealedEventId - 1 }),
        (m) => ({ ...m, sealedEventId: m.sealedEventId + 1 }),
      ]
      for (const edit of edits) {
        const dir = damagedCopy()
        writeManifest(dir, edit(readManifest(dir)))
        await expectCorruption(Azoth.restoreFrom(dir, join(tempDir(), 'target')))
      }
    })

    it('an edited manifest whose eventLog contradicts the backed-up azoth.json', async () => {
      const dir = damagedCopy()
      const m = readManifest(dir)
      writeManifest(dir, { ...m, eventLog: m.eventLog === 'lmdb' ? 'file' : 'lmdb' })
      await expectCorruption(Azoth.restoreFrom(dir, join(tempDir(), 'target')))
    })

    it('an edited manifest that drops a data file from its list (and the file with it)', async () => {
      const accepted: string[] = []
      for (const file of manifest.files) {
        const dir = damagedCopy()
        const m = readManifest(dir)
        writeManifest(dir, { ...m, files: m.files.filter((f) => f.path !== file.path) })
        unlinkSync(join(dir, file.path))
        const outcome = await Azoth.restoreFrom(dir, join(tempDir(), 'target')).then(
          async (db) => {
            await db.close()
            return 'restored'
          },
          (e: unknown) => e,
        )
        if (!isAzothError(outcome, 'CORRUPTION')) accepted.push(`${file.path}: ${String(outcome)}`)
      }
      // An incomplete backup must not restore (to an empty projection, a fresh azoth.json, ...).
      expect(accepted).toEqual([])
    })
  })
})
