import type { ChildProcess } from 'node:child_process'

/** What a child printed and how it ended. */
export interface ChildOutcome {
  readonly lines: string[]
  readonly stderr: string
  readonly code: number | null
  readonly signal: NodeJS.Signals | null
}

/**
 * Collects a child's stdout lines, calling `onLine` as each arrives, until the child has exited
 * and its pipes are drained (lines written just before a SIGKILL are still in the pipe).
 */
export function collectLines(
  child: ChildProcess,
  onLine: (line: string) => void = () => {},
): Promise<ChildOutcome> {
  const lines: string[] = []
  let partial = ''
  let stderr = ''
  child.stdout?.on('data', (d: Buffer) => {
    partial += d.toString()
    const parts = partial.split('\n')
    partial = parts.pop() ?? ''
    for (const line of parts) {
      lines.push(line)
      onLine(line)
    }
  })
  child.stderr?.on('data', (d: Buffer) => {
    stderr += d.toString()
  })
  return new Promise((resolve, reject) => {
    child.on('error', reject)
    child.on('close', (code, signal) => {
      if (partial !== '') lines.push(partial)
      resolve({ lines, stderr, code, signal })
    })
  })
}

/** Kills the child with SIGKILL unless it already ended. */
export function kill(child: ChildProcess): void {
  if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL')
}
