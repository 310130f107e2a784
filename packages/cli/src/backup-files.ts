import { createHash } from 'node:crypto'
import { createReadStream, statSync } from 'node:fs'
import { join } from 'node:path'
import { AzothError, type BackupManifest, CorruptionError } from 'azothdb'
import type { CliContext } from './cli-context.js'
import type { Progress } from './progress.js'

/** The files a backup's `manifest.json` lists, with their sizes and SHA-256. */
export type BackupFiles = BackupManifest['files']

/** How far a backup's manifest was checked, for a summary row. */
export function manifestText(ctx: CliContext, manifest: BackupManifest): string {
  return manifest.checksum !== undefined
    ? 'its checksum matches'
    : ctx.colors.yellow('format 1, from before manifest checksums: not checked')
}

async function sha256(path: string, onBytes: (n: number) => void): Promise<string> {
  const hash = createHash('sha256')
  try {
    for await (const chunk of createReadStream(path) as AsyncIterable<Buffer>) {
      hash.update(chunk)
      onBytes(chunk.length)
    }
  } catch (e) {
    throw new AzothError('IO', `cannot read ${path}`, { cause: e, details: { path } })
  }
  return hash.digest('hex')
}

/**
 * Hashes every listed file and compares size and SHA-256 with the manifest; a missing or different
 * file raises `CORRUPTION` naming it. Returns the files and bytes checked.
 */
export async function verifyBackupFiles(
  backupDir: string,
  files: BackupFiles,
  progress: Progress,
): Promise<{ files: number; bytes: number }> {
  const total = files.reduce((sum, f) => sum + f.bytes, 0)
  let done = 0
  progress.update(0, total)
  try {
    for (const file of files) {
      const path = join(backupDir, file.path)
      let size: number
      try {
        size = statSync(path).size
      } catch (e) {
        throw new CorruptionError(`backup file ${file.path} is missing`, {
          cause: e,
          details: { where: path },
        })
      }
      const digest =
        size === file.bytes
          ? await sha256(path, (n) => {
              done += n
              progress.update(done, total)
            })
          : undefined
      if (digest !== file.sha256) {
        throw new CorruptionError(`backup file ${file.path} does not match its checksum`, {
          details: { where: path },
        })
      }
    }
  } catch (e) {
    progress.stop()
    throw e
  }
  progress.finish()
  return { files: files.length, bytes: total }
}
