import { spawn } from 'node:child_process'
import { join } from 'node:path'
import { consumerEnv } from './command.js'
import { type ConsumerProject, runNode } from './consumer-project.js'

/** Acknowledged records to wait for before the kill: enough for several segment rotations. */
const ACKED_BEFORE_KILL = 300

/**
 * The standalone log as a user relies on it: a writer appending and syncing is SIGKILLed after
 * `ACKED_BEFORE_KILL` records were acknowledged; a new process reopens the directory (taking over
 * the dead writer's lock) and finds every acknowledged record intact and in order.
 */
export async function filelogSurvivesKill(project: ConsumerProject, script: string): Promise<string> {
  const dir = join(project.dir, 'log')
  const acked = await writeUntilKilled(project, script, dir)
  const result = await runNode(project.dir, [script, 'check', dir, String(acked)])
  return result.stdout.trim()
}

function writeUntilKilled(project: ConsumerProject, script: string, dir: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [script, 'write', dir], {
      cwd: project.dir,
      env: consumerEnv(),
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    let acked = 0
    let pending = ''
    let stderr = ''
    let killed = false
    const timer = setTimeout(() => {
      child.kill('SIGKILL')
      reject(new Error(`the writer acknowledged only ${acked} records in 60 s\n${stderr}`))
    }, 60_000)
    child.stdout.on('data', (d: Buffer) => {
      pending += d.toString()
      const lines = pending.split('\n')
      pending = lines.pop() ?? ''
      for (const line of lines) {
        const m = /^synced (\d+)$/.exec(line)
        if (m !== null) acked = Number(m[1])
      }
      if (!killed && acked >= ACKED_BEFORE_KILL) {
        killed = true
        child.kill('SIGKILL')
      }
    })
    child.stderr.on('data', (d: Buffer) => {
      stderr += d.toString()
    })
    child.on('error', reject)
    child.on('close', (code, signal) => {
      clearTimeout(timer)
      if (killed && signal === 'SIGKILL') resolve(acked)
      else
        reject(new Error(`the writer ended by itself (${code ?? signal}) after ${acked} records\n${stderr}`))
    })
  })
}
