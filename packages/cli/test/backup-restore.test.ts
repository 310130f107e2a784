import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { Azoth, silentLogger } from 'azothdb'
import { describe, expect, it } from 'vitest'
import { azothdb, jsonObject } from './support/cli.js'
import { buildSampleDatabase, SAMPLE } from './support/sample-database.js'
import { tempDir } from './support/temp-dir.js'

async function stateOf(dir: string): Promise<{ head: number; digest: string; alice: bigint | undefined }> {
  const db = await Azoth.openReadOnly(dir, { logger: silentLogger })
  try {
    return { head: db.head(), digest: db.stateDigest(), alice: db.getOpt('acct/alice')?.asI64() }
  } finally {
    await db.close()
  }
}

function flipByte(path: string, offset: number): void {
  const bytes = readFileSync(path)
  bytes[offset] = bytes[offset]! ^ 0xff
  writeFileSync(path, bytes)
}

describe.each(['lmdb', 'file'] as const)('backup then restore (eventLog %s)', (eventLog) => {
  it('writes a verified backup and restores it into an empty directory with the same state', async () => {
    const dir = tempDir()
    await buildSampleDatabase(dir, eventLog)
    const out = join(tempDir(), 'backup')
    const backup = await azothdb(['backup', dir, out, '--json'])
    expect(backup.stderr).toBe('')
    expect(backup.code).toBe(0)
    const summary = jsonObject(backup.stdout)
    const manifest = JSON.parse(readFileSync(join(out, 'manifest.json'), 'utf8')) as Record<string, unknown>
    expect(summary).toMatchObject({
      sealedEventId: SAMPLE.head,
      eventLog,
      verified: true,
      files: (manifest.files as unknown[]).length,
      stateDigest: manifest.stateDigest,
      projectorCursors: { withdrawals: SAMPLE.head },
    })

    const target = join(tempDir(), 'restored')
    const restore = await azothdb(['restore', out, target])
    expect(restore.code).toBe(0)
    expect(restore.stdout).toContain(`${out} restored into ${target}`)
    expect(restore.stdout).toMatch(new RegExp(`│ head\\s+│ ${SAMPLE.head}\\s+│`))
    expect(restore.stdout).toContain('every SHA-256 verified')
    expect(restore.stdout).toMatch(/│ manifest\s+│ its checksum matches\s+│/)
    expect(await stateOf(target)).toEqual(await stateOf(dir))
  })
})

describe('restore refuses', () => {
  it('a damaged backup with CORRUPTION naming the file, and creates nothing', async () => {
    const dir = tempDir()
    await buildSampleDatabase(dir)
    const out = join(tempDir(), 'backup')
    const db = await Azoth.open(dir, { logger: silentLogger })
    await db.backupTo(out).finally(() => db.close())
    flipByte(join(out, 'projection.db'), 200)
    const target = join(tempDir(), 'restored')
    const run = await azothdb(['restore', out, target])
    expect(run.code).toBe(1)
    expect(run.stdout).toBe('')
    expect(run.stderr).toBe('azothdb: CORRUPTION: backup file projection.db does not match its checksum\n')
    expect(existsSync(target)).toBe(false)
  })

  it('a backup whose manifest has a flipped bit, with CORRUPTION naming the manifest, and creates nothing', async () => {
    const dir = tempDir()
    await buildSampleDatabase(dir)
    const out = join(tempDir(), 'backup')
    const db = await Azoth.open(dir, { logger: silentLogger })
    await db.backupTo(out).finally(() => db.close())
    const manifestPath = join(out, 'manifest.json')
    const manifest = readFileSync(manifestPath)
    // In the projection's backend: restored, it dropped the projection and was believed.
    manifest[manifest.indexOf('"sqlite"') + 2]! ^= 0x04
    writeFileSync(manifestPath, manifest)
    const target = join(tempDir(), 'restored')
    const run = await azothdb(['restore', out, target])
    expect(run.code).toBe(1)
    expect(run.stdout).toBe('')
    expect(run.stderr).toBe(
      `azothdb: CORRUPTION: backup manifest ${manifestPath} is damaged: its checksum does not match\n`,
    )
    expect(existsSync(target)).toBe(false)
  })

  it('a non-empty target unless --replace, which swaps in the backup and leaves no sibling behind', async () => {
    const dir = tempDir()
    await buildSampleDatabase(dir)
    const out = join(tempDir(), 'backup')
    const db = await Azoth.open(dir, { logger: silentLogger })
    await db.backupTo(out)
    // Life goes on after the backup: the restore must bring back the state as it was at the backup.
    await db.writeBatch().put('acct/alice', 1n).appendEvent('withdrawn', { amount: 499 }).commit()
    await db.close()
    const before = await stateOf(dir)

    const refused = await azothdb(['restore', out, dir])
    expect(refused.code).toBe(1)
    expect(refused.stderr).toBe(
      `azothdb: INVALID_ARGUMENT: restore target ${dir} is not empty: pass --replace to replace the database in it\n`,
    )
    expect(await stateOf(dir)).toEqual(before)

    const replaced = await azothdb(['restore', out, dir, '--replace', '--json'])
    expect(replaced.code).toBe(0)
    expect(jsonObject(replaced.stdout)).toMatchObject({ replaced: true, head: SAMPLE.head, verified: true })
    const after = await stateOf(dir)
    expect(after).toMatchObject({ head: SAMPLE.head, alice: 500n })
    expect(after.digest).not.toBe(before.digest)
    expect(
      readdirSync(dirname(dir)).filter((name) => name.includes('.restoring-') || name.includes('.replaced-')),
    ).toEqual([])
  })
})
