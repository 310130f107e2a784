import { execFileSync } from 'node:child_process'
import { readdirSync } from 'node:fs'
import { Azoth, isAzothError } from 'azothdb'
import { pino } from 'pino'
import { describe, expect, it } from 'vitest'
import { tempDir } from './support/temp-dir.js'

function canMountTmpfs(): boolean {
  if (process.getuid?.() !== 0) return false
  const dir = tempDir('azoth-tmpfs-')
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=64k', 'tmpfs', dir], { stdio: 'pipe' })
    execFileSync('umount', [dir], { stdio: 'pipe' })
    return true
  } catch {
    return false
  }
}

// A real full disk needs a size-limited tmpfs, which only root can mount: elsewhere this is skipped.
describe.skipIf(!canMountTmpfs())('a backup that fails half-way', () => {
  it('on a full disk rejects with IO, leaves its target empty, and the retry into it succeeds once space returns', async () => {
    const target = tempDir('azoth-tmpfs-')
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=512k', 'tmpfs', target], { stdio: 'pipe' })
    try {
      const db = await Azoth.open(tempDir(), { logger: pino({ level: 'silent' }) })
      for (let i = 0; i < 40; i++)
        await db
          .writeBatch()
          .appendEvent('e', { i, pad: 'x'.repeat(50_000) })
          .commit()
      const error = await db.backupTo(target).then(
        () => undefined,
        (e: unknown) => e,
      )
      expect(isAzothError(error, 'IO'), String(error)).toBe(true)
      expect(readdirSync(target)).toEqual([])
      // Commits go on after the failed backup.
      await db.writeBatch().appendEvent('after').commit()
      execFileSync('mount', ['-o', 'remount,size=64m', target], { stdio: 'pipe' })
      const manifest = await db.backupTo(target)
      expect(manifest.sealedEventId).toBe(41)
      expect(readdirSync(target)).toContain('manifest.json')
      await db.close()
    } finally {
      execFileSync('umount', [target], { stdio: 'pipe' })
    }
  })
})
