import { spawn } from 'node:child_process'
import { mkdtemp, readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { AzothError } from '@azothdb/core'
import type { SectionFile } from './discover.js'
import type { RunOptions, SectionResult } from './harness.js'

const CHILD = fileURLToPath(new URL('./section-child.ts', import.meta.url))

/**
 * Runs one section in a child process (the same Node flags as this one, so `--expose-gc` and the
 * TypeScript loader carry over) and returns its results. Progress goes to this process's stderr.
 */
export async function runSectionInChild(
  file: SectionFile,
  options: Omit<RunOptions, 'onCase'>,
): Promise<SectionResult> {
  const dir = await mkdtemp(join(tmpdir(), 'azoth-bench-'))
  const out = join(dir, 'result.json')
  try {
    const { code, signal } = await new Promise<{ code: number | null; signal: NodeJS.Signals | null }>(
      (resolve, reject) => {
        const child = spawn(
          process.execPath,
          [...process.execArgv, CHILD, file.name, file.path, JSON.stringify(options), out],
          { stdio: ['ignore', 'inherit', 'inherit'] },
        )
        child.on('error', reject)
        child.on('exit', (exitCode, exitSignal) => resolve({ code: exitCode, signal: exitSignal }))
      },
    )
    if (code !== 0) {
      const how = signal === null ? `exited with ${code}` : `was killed by ${signal}`
      throw new AzothError('IO', `the process running bench section '${file.name}' ${how}`, {
        details: { section: file.name, code, signal },
      })
    }
    return JSON.parse(await readFile(out, 'utf8')) as SectionResult
  } finally {
    await rm(dir, { recursive: true, force: true })
  }
}
