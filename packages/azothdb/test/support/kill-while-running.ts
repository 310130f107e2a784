import type { ChildProcess } from 'node:child_process'
import { exited } from '../../../../vitest.shared.js'

/**
 * Hands each line the child prints to `onLine`; once it prints `ready`, SIGKILLs it after a random
 * `minMs` to `minMs + spreadMs`. Resolves when it died of that kill; rejects (with its stderr) when
 * it exited any other way.
 */
export async function killWhileRunning(
  child: ChildProcess,
  onLine: (line: string) => void,
  delay: { minMs: number; spreadMs: number },
): Promise<void> {
  let buffer = ''
  let stderr = ''
  child.stderr?.on('data', (d: Buffer) => {
    stderr += d.toString()
  })
  await new Promise<void>((resolve, reject) => {
    child.stdout?.on('data', (d: Buffer) => {
      buffer += d.toString()
      const lines = buffer.split('\n')
      buffer = lines.pop() ?? ''
      for (const line of lines) {
        if (line === 'ready') {
          setTimeout(() => child.kill('SIGKILL'), delay.minMs + Math.floor(Math.random() * delay.spreadMs))
        } else onLine(line)
      }
    })
    child.on('exit', (code, signal) => {
      if (signal === 'SIGKILL') resolve()
      else reject(new Error(`child exited with ${code}: ${stderr}`))
    })
  })
  await exited(child)
}
