import { spawn } from 'node:child_process'
import { mkdtemp, readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { AzothError } from '@azothdb/core'
import type { SectionFile } from './discover.js'
import { describeError, type RunOptions, type SectionResult } from './harness.js'

const CHILD = fileURLToPath(new URL('./section-child.ts', import.meta.url))

/** Removes the temp directory a child that did not finish had made (its own cleanup never ran). */
async function removeSectionTmpDir(pointer: string): Promise<void> {
  let dir: string
  try {
    dir = (await readFile(pointer, 'utf8')).trim()
  } catch {
    return // the child died before making one
  }
  if (dir !== '') await rm(dir, { recursive: true, force: true })
}

/** The results the child wrote after each finished case, if any. */
async function readPartial(path: string): Promise<SectionResult | undefined> {
  try {
    return JSON.parse(await readFile(path, 'utf8')) as SectionResult
  } catch {
    return undefined // no case finished (or the file was cut short by the kill): nothing to keep
  }
}

const duration = (ms: number) => (ms >= 60_000 ? `${Math.round(ms / 60_000)} min` : `${ms / 1000} s`)

/**
 * Runs one section in a child process (the same Node flags as this one, so `--expose-gc` and the
 * TypeScript loader carry over) and returns its results. Progress goes to this process's stderr.
 * With `timeoutMs`, a section still running after it is killed (SIGKILL) and reported as failed, so
 * one workload that never finishes cannot hold a whole report; servers the section started may
 * outlive it then.
 */
export async function runSectionInChild(
  file: SectionFile,
  options: Omit<RunOptions, 'onCase'>,
  limits: { timeoutMs?: number | undefined } = {},
): Promise<SectionResult> {
  const dir = await mkdtemp(join(tmpdir(), 'azoth-bench-'))
  const out = join(dir, 'result.json')
  let timedOut = false
  try {
    const { code, signal } = await new Promise<{ code: number | null; signal: NodeJS.Signals | null }>(
      (resolve, reject) => {
        const child = spawn(
          process.execPath,
          [...process.execArgv, CHILD, file.name, file.path, JSON.stringify(options), out],
          { stdio: ['ignore', 'inherit', 'inherit'] },
        )
        const timer =
          limits.timeoutMs === undefined
            ? undefined
            : setTimeout(() => {
                timedOut = true
                child.kill('SIGKILL')
              }, limits.timeoutMs)
        child.on('error', reject)
        child.on('exit', (exitCode, exitSignal) => {
          clearTimeout(timer)
          resolve({ code: exitCode, signal: exitSignal })
        })
      },
    )
    if (code !== 0) {
      const how = timedOut
        ? `did not finish within ${duration(limits.timeoutMs ?? 0)} and was killed`
        : signal === null
          ? `exited with ${code}`
          : `was killed by ${signal}`
      const failure = new AzothError('IO', `the process running bench section '${file.name}' ${how}`, {
        details: { section: file.name, code, signal },
      })
      await removeSectionTmpDir(`${out}.tmpdir`)
      const partial = await readPartial(`${out}.partial`)
      if (partial === undefined) throw failure
      // The cases it finished keep their figures; the section carries the failure.
      return { ...partial, error: describeError(failure) }
    }
    return JSON.parse(await readFile(out, 'utf8')) as SectionResult
  } finally {
    await rm(dir, { recursive: true, force: true })
  }
}
