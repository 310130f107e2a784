import { execFile } from 'node:child_process'
import { mkdirSync, truncateSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { azothdb, binPath } from './support/cli.js'
import { buildSampleDatabase } from './support/sample-database.js'
import { tempDir } from './support/temp-dir.js'

const STACK_LINE = /\n\s+at /

/** Runs the command under a pseudo-terminal (util-linux `script`), where colours are allowed. */
function underTerminal(args: readonly string[], env: Record<string, string>): Promise<string> {
  const tsx = import.meta.resolve('tsx')
  const command = ['node', '--import', tsx, binPath, ...args].map((a) => `'${a}'`).join(' ')
  return new Promise((resolve, reject) => {
    execFile(
      'script',
      ['-qec', command, '/dev/null'],
      {
        env: {
          ...process.env,
          NO_COLOR: undefined,
          FORCE_COLOR: undefined,
          ...env,
          TSX_TSCONFIG_PATH: new URL('../../../tsconfig.base.json', import.meta.url).pathname,
        },
      },
      (error, stdout) => (error && error.code !== 1 ? reject(error) : resolve(stdout)),
    )
  })
}

describe.concurrent('bad usage exits 2 with a message and no stack trace', () => {
  it.for<[string, string[], RegExp]>([
    ['an unknown command', ['frobnicate'], /unknown command 'frobnicate'/],
    ['a missing argument', ['get', '/tmp'], /missing required argument 'key'/],
    ['a malformed number', ['scan', '/tmp', '--limit', 'ten'], /'--limit <n>' argument 'ten' is invalid/],
    [
      'a value outside its choices',
      ['dlq', 'list', '/tmp', '--status', 'lost'],
      /Allowed choices are pending, retrying, permanent/,
    ],
    ['malformed hex', ['get', '/tmp', 'zz', '--hex'], /'zz' is not hex bytes/],
  ])('%s', async ([, args, message], { expect }) => {
    const run = await azothdb(args)
    expect(run.code).toBe(2)
    expect(run.stdout).toBe('')
    expect(run.stderr).toMatch(message)
    expect(run.stderr).not.toMatch(STACK_LINE)
  })
})

describe('a missing or damaged database exits 1 with the error code', () => {
  it('a directory that holds no database is NOT_FOUND, and nothing is created', async () => {
    const missing = join(tempDir(), 'nothing-here')
    const run = await azothdb(['status', missing])
    expect(run.code).toBe(1)
    expect(run.stderr).toBe(`azothdb: NOT_FOUND: no Azoth database in ${missing}\n`)
    const write = await azothdb(['dlq', 'remove', missing, '1'])
    expect(write.code).toBe(1)
    expect(write.stderr).toMatch(/^azothdb: NOT_FOUND: /)
    expect(() => mkdirSync(missing)).not.toThrow() // still absent: neither command created it
  })

  it('a damaged azoth.json is CORRUPTION; --verbose adds the stack and its cause', async () => {
    const dir = tempDir()
    await buildSampleDatabase(dir)
    writeFileSync(join(dir, 'azoth.json'), '{"format": 1, "eventLog"')
    const run = await azothdb(['events', dir])
    expect(run.code).toBe(1)
    expect(run.stdout).toBe('')
    expect(run.stderr).toMatch(/^azothdb: CORRUPTION: .*azoth\.json is not valid JSON\n$/)
    const verbose = await azothdb(['events', dir, '--verbose'])
    expect(verbose.code).toBe(1)
    expect(verbose.stderr).toMatch(STACK_LINE)
    expect(verbose.stderr).toMatch(/caused by: SyntaxError/)
  })
  it('a truncated LMDB file is CORRUPTION, not a crash', async () => {
    const dir = tempDir()
    await buildSampleDatabase(dir)
    const dataFile = join(dir, 'canonical', 'data.mdb')
    truncateSync(dataFile, 8192)
    const run = await azothdb(['get', dir, 'acct/alice'])
    expect(run.code).toBe(1)
    expect(run.stderr).toMatch(/^azothdb: CORRUPTION: .*data\.mdb is truncated/)
  })
})

describe('colours', () => {
  it('only on a terminal, and never with NO_COLOR', async () => {
    const dir = tempDir()
    await buildSampleDatabase(dir)
    const [piped, terminal, noColor] = await Promise.all([
      azothdb(['projector', 'list', dir]),
      underTerminal(['projector', 'list', dir], {}),
      underTerminal(['projector', 'list', dir], { NO_COLOR: '1' }),
    ])
    expect(piped.stdout).toContain('withdrawals')
    expect(piped.stdout).not.toContain('\u001b[')
    expect(terminal).toContain('withdrawals')
    expect(terminal).toContain('\u001b[32mcaught up')
    expect(noColor).toContain('withdrawals')
    expect(noColor).not.toContain('\u001b[')
  })
})
