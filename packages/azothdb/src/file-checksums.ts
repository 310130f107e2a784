import { createHash } from 'node:crypto'
import { createReadStream, readdirSync, statSync } from 'node:fs'
import { join, relative, sep } from 'node:path'

/** A file of a backup, as the manifest lists it. */
export interface FileChecksum {
  /** Path relative to the backup directory, with `/` separators. */
  readonly path: string
  /** Size in bytes. */
  readonly bytes: number
  /** SHA-256 of the content, hex. */
  readonly sha256: string
}

/** SHA-256 of a file, streamed. */
export function sha256File(path: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const hash = createHash('sha256')
    createReadStream(path)
      .on('data', (chunk) => hash.update(chunk))
      .on('error', reject)
      .on('end', () => resolve(hash.digest('hex')))
  })
}

/** Every regular file under `dir`, sorted, relative to `root`. */
export function listFiles(dir: string, root = dir): string[] {
  const out: string[] = []
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const full = join(dir, entry.name)
    if (entry.isDirectory()) out.push(...listFiles(full, root))
    else if (entry.isFile()) out.push(relative(root, full).split(sep).join('/'))
  }
  return out.sort()
}

/** Checksums of the given files under `root`. */
export async function checksumFiles(root: string, files: readonly string[]): Promise<FileChecksum[]> {
  const out: FileChecksum[] = []
  for (const path of files) {
    const full = join(root, path)
    out.push({ path, bytes: statSync(full).size, sha256: await sha256File(full) })
  }
  return out
}
