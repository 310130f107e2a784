import { chmodSync, existsSync, mkdirSync, rmSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { AzothError, isAzothError, TypedValue } from '@azothdb/core'
import { DATA_FILE, openLmdbStore, STORE_FORMAT_VERSION } from '@azothdb/store-lmdb'
import { open } from 'lmdb'
import { describe, expect, it } from 'vitest'
import { dirSnapshot } from './support/dir-snapshot.js'
import { MemoryEventLog } from './support/memory-event-log.js'
import { tempDir } from './support/temp-dir.js'

async function openError(
  dir: string,
  options: Parameters<typeof openLmdbStore>[1] = {},
): Promise<AzothError> {
  const outcome = await openLmdbStore(dir, options).then(
    async (store) => {
      await store.close()
      return 'opened'
    },
    (e: unknown) => e,
  )
  if (!isAzothError(outcome)) throw new Error(`expected an AzothError, got ${String(outcome)}`)
  return outcome
}

/** Writes the store's format version (meta key `format`, u32 big-endian) with lmdb-js directly. */
function writeFormatVersion(dir: string, version: number): void {
  const env = open<Uint8Array, Uint8Array>({ path: join(dir, DATA_FILE), maxDbs: 8 })
  try {
    const meta = env.openDB<Uint8Array, Uint8Array>({
      name: 'meta',
      keyEncoding: 'binary',
      encoding: 'binary',
    })
    const bytes = Buffer.alloc(4)
    bytes.writeUInt32BE(version, 0)
    meta.putSync(Buffer.from('format'), bytes)
  } finally {
    void env.close()
  }
}

describe('opening a store of an older format', () => {
  it('is refused with CONFIG naming both formats (format 1 had no checksums), and leaves the store intact', async () => {
    const dir = tempDir()
    const store = await openLmdbStore(dir)
    await store.commit((tx) => tx.put('kept', TypedValue.i64(7n)))
    await store.close()
    writeFormatVersion(dir, 1)
    const before = dirSnapshot(dir)

    const e = await openError(dir)
    expect(e.code).toBe('CONFIG')
    expect(e.details).toMatchObject({ field: 'format', value: 1 })
    expect(e.message).toMatch(`has format 1, this version of Azoth reads format ${STORE_FORMAT_VERSION}`)
    expect((await openError(dir, { readOnly: true })).code).toBe('CONFIG')
    expect(dirSnapshot(dir)).toEqual(before)
  })
})

describe('opening a store written by a newer version', () => {
  it('is refused with CONFIG naming the format, for writers and readers, and leaves the store intact', async () => {
    const dir = tempDir()
    const store = await openLmdbStore(dir)
    await store.commit((tx) => {
      tx.put('kept', TypedValue.i64(7n))
      tx.appendEvent('e', 1)
    })
    await store.close()
    writeFormatVersion(dir, STORE_FORMAT_VERSION + 1)
    const before = dirSnapshot(dir)

    const e = await openError(dir)
    expect(e.code).toBe('CONFIG')
    expect(e.details).toMatchObject({ field: 'format', value: STORE_FORMAT_VERSION + 1 })
    expect(e.message).toMatch(/newer/)
    expect((await openError(dir, { readOnly: true })).code).toBe('CONFIG')
    expect(dirSnapshot(dir)).toEqual(before)

    // The refused open released the writer lock and LMDB: with the version put back it opens as it was.
    writeFormatVersion(dir, STORE_FORMAT_VERSION)
    const again = await openLmdbStore(dir)
    expect(again.get('kept')?.asI64()).toBe(7n)
    expect(again.head()).toBe(1)
    await again.close()
  })
})

describe('an open that fails', () => {
  it('writes nothing to an environment of a newer format, even one that lacks databases this version would create', async () => {
    const dir = tempDir()
    writeFormatVersion(dir, STORE_FORMAT_VERSION + 1) // only the meta database exists
    const before = dirSnapshot(dir)
    expect((await openError(dir)).code).toBe('CONFIG')
    expect((await openError(dir, { readOnly: true })).code).toBe('CONFIG')
    expect(dirSnapshot(dir)).toEqual(before)
  })

  it('on a data.mdb that cannot be read is IO naming the store, not a raw Node error', async () => {
    const dir = tempDir()
    mkdirSync(join(dir, DATA_FILE)) // reading it fails with EISDIR
    for (const readOnly of [false, true]) {
      const e = await openError(dir, { readOnly })
      expect(e.code).toBe('IO')
      expect(e.details).toMatchObject({ path: dir })
    }
  })

  it('of a new store removes what it created: the directory, or the data and lock files', async () => {
    // An external log that runs ahead of the new store and cannot be cut back fails the open late.
    const failingLog = new (class extends MemoryEventLog {
      override async truncateAfter(): Promise<void> {
        throw new AzothError('IO', 'the log cannot be cut back')
      }
    })()
    failingLog.append(1, [new Uint8Array([1])])

    const parent = tempDir()
    const newDir = join(parent, 'a', 'canonical')
    expect((await openError(newDir, { eventLog: failingLog })).code).toBe('IO')
    expect(dirSnapshot(parent)).toEqual({})

    const emptyDir = tempDir()
    expect((await openError(emptyDir, { eventLog: failingLog })).code).toBe('IO')
    expect(dirSnapshot(emptyDir)).toEqual({})
  })
})

/**
 * A directory this process cannot create a store in. A directory without write permission when
 * that stops this process; as root (where it does not) a path under a regular file, which no one
 * can create.
 */
function unwritableDir(): { dir: string; restore: () => void } {
  const parent = tempDir()
  const dir = join(parent, 'locked')
  mkdirSync(dir)
  chmodSync(dir, 0o555)
  try {
    writeFileSync(join(dir, 'probe'), '')
    rmSync(join(dir, 'probe'))
  } catch {
    return { dir, restore: () => chmodSync(dir, 0o755) }
  }
  // The permission did not stop us (root): fall back to a path no one can create.
  chmodSync(dir, 0o755)
  const file = join(parent, 'a-file')
  writeFileSync(file, 'not a directory')
  return { dir: join(file, 'sub'), restore: () => {} }
}

describe('opening in a directory that cannot be written', () => {
  it('is refused with IO naming the path, and creates nothing', async () => {
    const { dir, restore } = unwritableDir()
    try {
      const e = await openError(dir)
      expect(e.code).toBe('IO')
      expect(e.details).toMatchObject({ path: dir })
      expect(existsSync(join(dir, DATA_FILE))).toBe(false)
    } finally {
      restore()
    }
  })

  it('a path under a regular file: IO when creating, NOT_FOUND when not asked to create', async () => {
    const file = join(tempDir(), 'a-file')
    writeFileSync(file, 'x')
    expect((await openError(join(file, 'sub'))).code).toBe('IO')
    expect((await openError(join(file, 'sub'), { create: false })).code).toBe('NOT_FOUND')
    expect((await openError(file)).code).toBe('INVALID_ARGUMENT') // a file, not a directory
  })
})
