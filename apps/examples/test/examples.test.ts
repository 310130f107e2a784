import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { afterAll, describe, expect, it } from 'vitest'
import { exited, runTypeScript, spawnTypeScript } from '../../../vitest.shared.js'

// Each example and the demo run as real child processes, as `pnpm example <name>` runs them;
// `azothdb` resolves to the TypeScript sources through the tsconfig paths.
const appDir = fileURLToPath(new URL('..', import.meta.url))
const repoRoot = fileURLToPath(new URL('../../..', import.meta.url))
const examplesDir = join(appDir, 'src', 'examples')
// Under `pnpm test`, INIT_CWD names the repository root: the demo must use its own cwd instead.
const env = { AZOTH_LOG_LEVEL: 'warn', INIT_CWD: undefined }

const examples = readdirSync(examplesDir)
  .filter((f) => f.endsWith('.ts'))
  .map((f) => f.slice(0, -3))
  .sort()

/**
 * Lines an example prints only when the feature it shows worked (besides its `ok: <name>` line):
 * each states a value the feature produced, so a broken feature changes or removes it.
 */
const proofLines: Record<string, readonly string[]> = {
  'basic-usage': [
    // range: [start, end) over zero-padded dates
    'range [03-02, 03-04): visits/2024-03-02=7 visits/2024-03-03=9',
    // a transaction deleted the key and logged with logMany, then logBytes
    'user/2 after delete: undefined',
    'event 3 user-deleted {"user":2}',
    'event 4 audit {"action":"delete","by":"admin"}',
    'event 5 archive-note bytes "user 2 archived"',
    // `await using` closed the database: the same process can open the directory again
    'reopened: head 5, credits 125',
  ],
  'backup-restore': [
    'read-only reader: head 100 → 101, ada 250, projected ada 250; its write failed with READ_ONLY',
    'paused at event 101: commit held (landed false, head 101)',
    'resumed: the held commit landed, head 102',
    'sealed at event 102: a commit was refused with SEALED, head 102',
  ],
  'dlq-replay': ['removed #3 (unknown customer nobody): true; dead letters left: 1'],
  'deterministic-replay': [
    'same transactions, same clock: equal state digests true, equal events true, timestamps 2024-01-01T00:00:00.000Z',
    'one amount changed: state digest differs true',
  ],
}

/** Runs a TypeScript file with tsx; resolves with its output whatever the exit code. */
function runTs(file: string, cwd: string, extraEnv: Record<string, string> = {}, args: string[] = []) {
  return runTypeScript(file, args, { cwd, env: { ...env, ...extraEnv } })
}

describe('examples', () => {
  it('has every example the issue lists', () => {
    expect(examples).toEqual([
      'backup-restore',
      'basic-usage',
      'continuous-processor',
      'custom-errors',
      'deterministic-replay',
      'dlq-replay',
      'event-handlers',
      'file-event-log',
      'lambda-require',
      'multiple-projections',
      'outgrow-one-machine',
      'projector-builder',
      'subscribe',
    ])
  })

  // outgrow-one-machine needs a PostgreSQL and a NATS server: outgrow-one-machine.test.ts starts them.
  it.each(examples.filter((name) => name !== 'outgrow-one-machine'))(
    '%s runs to completion and prints its ok line',
    async (name) => {
      const result = await runTs(join(examplesDir, `${name}.ts`), repoRoot)
      expect(result.code, result.stderr).toBe(0)
      const lines = result.stdout.split('\n')
      expect(lines).toContain(`ok: ${name}`)
      for (const line of proofLines[name] ?? []) expect(lines, result.stdout).toContain(line)
    },
  )

  it('every example is listed in the root README and in the examples README', () => {
    for (const readme of [join(repoRoot, 'README.md'), join(appDir, 'README.md')]) {
      const text = readFileSync(readme, 'utf8')
      for (const name of examples) expect(text, readme).toMatch(new RegExp(`^\\| \`${name}\` +\\|`, 'm'))
    }
  })

  it('continuous-processor stops gracefully on SIGINT', async () => {
    // Long enough that only the signal can end it within the test.
    const child = spawnTypeScript(join(examplesDir, 'continuous-processor.ts'), [], {
      cwd: repoRoot,
      env: { ...env, AZOTH_EXAMPLE_SECONDS: '600' },
    })
    let stdout = ''
    let stderr = ''
    child.stderr?.on('data', (d: Buffer) => {
      stderr += d.toString()
    })
    try {
      // A progress line means the producer commits and the projector runs.
      await new Promise<void>((resolve, reject) => {
        child.stdout?.on('data', (d: Buffer) => {
          stdout += d.toString()
          if (/^placed \d+ orders; projector at \d+ of \d+/m.test(stdout)) resolve()
        })
        child.once('exit', (code) => reject(new Error(`exited with ${code} before running: ${stderr}`)))
      })
      const closed = new Promise<number | null>((resolve) => child.once('close', resolve))
      child.kill('SIGINT')
      const code = await closed
      expect(code, stderr).toBe(0)
      const lines = stdout.trim().split('\n')
      expect(lines).toContain('SIGINT received: stopping')
      expect(stdout).toMatch(/^projected (\d+) orders of \1; projector state: stopped$/m)
      expect(lines.at(-1)).toBe('ok: continuous-processor')
    } finally {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL')
      await exited(child)
    }
  })

  it('the runner behind `pnpm example <name>` runs the named example', async () => {
    const result = await runTs(join(appDir, 'src', 'run-example.ts'), repoRoot, {}, ['custom-errors'])
    expect(result.code, result.stderr).toBe(0)
    expect(result.stdout).toContain('ok: custom-errors')
  })

  it('an unknown example name lists the examples and exits with 1', async () => {
    const result = await runTs(join(appDir, 'src', 'run-example.ts'), repoRoot)
    expect(result.code).toBe(1)
    for (const name of examples) expect(result.stderr).toContain(`  ${name}`)
  })
})

describe('demo', () => {
  const cwd = mkdtempSync(join(tmpdir(), 'azoth-demo-test-'))
  afterAll(() => rmSync(cwd, { recursive: true, force: true }))

  it('runs the ledger end to end under ./data of its working directory', async () => {
    // Fewer transfers than the default keeps the suite short; the path through the code is the same.
    const result = await runTs(join(appDir, 'src', 'demo.ts'), cwd, { DEMO_TRANSFERS: '3000' })
    expect(result.code, result.stderr).toBe(0)
    const lines = result.stdout.trim().split('\n')
    expect(lines.at(-1)).toMatch(
      /^demo finished: [\d,]+ transfers committed, [\d,]+ refused, .*backup restored and verified/,
    )
    expect(result.stdout).toContain('SQL = state for every account')
    expect(readdirSync(cwd).sort()).toEqual(['data', 'data-backup', 'data-restored'])
    expect(readdirSync(join(cwd, 'data-backup'))).toContain('manifest.json')
  })

  it('reruns cleanly over the directories of a previous run', async () => {
    const result = await runTs(join(appDir, 'src', 'demo.ts'), cwd, { DEMO_TRANSFERS: '500' })
    expect(result.code, result.stderr).toBe(0)
    expect(result.stdout).toMatch(/demo finished: /)
  })
})
