import { mkdtempSync, readdirSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { afterAll, describe, expect, it } from 'vitest'
import { runTypeScript } from '../../../vitest.shared.js'

// Each example and the demo run as real child processes, as `pnpm example <name>` runs them;
// `azoth` resolves to the TypeScript sources through the tsconfig paths.
const appDir = fileURLToPath(new URL('..', import.meta.url))
const repoRoot = fileURLToPath(new URL('../../..', import.meta.url))
const examplesDir = join(appDir, 'src', 'examples')
// Under `pnpm test`, INIT_CWD names the repository root: the demo must use its own cwd instead.
const env = { AZOTH_LOG_LEVEL: 'warn', INIT_CWD: undefined }

const examples = readdirSync(examplesDir)
  .filter((f) => f.endsWith('.ts'))
  .map((f) => f.slice(0, -3))
  .sort()

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
      'dlq-replay',
      'event-handlers',
      'event-processor-builder',
      'file-event-log',
      'lambda-require',
      'multiple-projections',
      'subscribe',
    ])
  })

  it.each(examples)('%s runs to completion and prints its ok line', async (name) => {
    const result = await runTs(join(examplesDir, `${name}.ts`), repoRoot)
    expect(result.code, result.stderr).toBe(0)
    expect(result.stdout.split('\n')).toContain(`ok: ${name}`)
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
