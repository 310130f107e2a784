import { join } from 'node:path'
import type { CheckReport } from './check-report.js'
import { runOrThrow } from './command.js'
import { addFixture, type ConsumerProject, createConsumer, npmInstall, runNode } from './consumer-project.js'
import type { Tarball } from './pack.js'
import { runnableBlocks } from './readme-code.js'
import { typecheckConsumer } from './typescript-consumer.js'
import { repoRoot } from './workspace.js'

/** Emmett from the registry, at the version the adapter is built and tested against. */
const EMMETT = '0.42.0'

/**
 * An Emmett application's project: `@azothdb/emmett` and `azothdb` from our tarballs, Emmett (a
 * peer dependency, with its own peers) from the registry. Runs the README's blocks, a plain ESM
 * application, and type-checks a TypeScript one against Emmett's published declarations.
 */
export async function emmettChecks(
  report: CheckReport,
  dir: string,
  tarballs: readonly Tarball[],
  typesNodeVersion: string,
  runReadmeBlock: (projectDir: string, name: string, code: string) => Promise<void>,
): Promise<void> {
  // Emmett goes with the registry packages the helper takes (a root project installs them all).
  const project: ConsumerProject = createConsumer(dir, ['@azothdb/emmett', 'azothdb'], tarballs, {
    '@types/node': typesNodeVersion,
    '@event-driven-io/emmett': EMMETT,
  })
  const installed = await report.check('@azothdb/emmett with Emmett: npm install, npm ls', async () => {
    const result = await npmInstall(project)
    if (result.code !== 0)
      throw new Error(`npm install exited ${result.code ?? result.signal}\n${result.output}`)
    await runOrThrow('npm', ['ls', '--all'], { cwd: project.dir, timeoutMs: 60_000 })
  })
  const checks: [string, () => Promise<void>][] = []
  const readme = join(repoRoot, 'packages', 'emmett', 'README.md')
  for (const block of runnableBlocks(readme, '@azothdb/emmett')) {
    checks.push([
      `@azothdb/emmett: its README code at line ${block.line} runs as ESM and prints what it promises`,
      () => runReadmeBlock(project.dir, `readme-${block.line}`, block.code),
    ])
  }
  checks.push([
    "@azothdb/emmett: an ESM application runs Emmett's CommandHandler on Azoth and catches its conflict error",
    async () => {
      await runNode(project.dir, [addFixture(project, 'emmett-consumer.mjs')])
    },
  ])
  checks.push([
    "@azothdb/emmett: tsc --noEmit (nodenext, skipLibCheck false): the adapter is Emmett's EventStore",
    () => typecheckConsumer(project, 'nodenext', [addFixture(project, 'emmett-consumer.ts')]),
  ])
  for (const [name, fn] of checks) {
    if (installed) await report.check(name, fn)
    else report.skipped(name, 'the install failed')
  }
}
