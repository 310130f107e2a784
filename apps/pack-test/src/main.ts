// The consumer test of the packages as npm users get them: build, pack each package, install the
// tarballs with npm into fresh projects outside the workspace, and use them there. Prints one line
// per check (failures with their output) and ends with "pack-test: N passed, M failed", which
// .ci/run adds to the vitest totals. AZOTH_PACK_TEST_KEEP=1 keeps the temporary projects.
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { CheckReport } from './check-report.js'
import { runOrThrow } from './command.js'
import { addFixture, createConsumer, npmInstall, runNode } from './consumer-project.js'
import { emmettChecks } from './emmett-consumer.js'
import { filelogSurvivesKill } from './filelog-crash.js'
import { buildPackages, packPackages, type Tarball } from './pack.js'
import { promisedOutput, runnableBlocks, toRunnableModule } from './readme-code.js'
import { attwTarball, checkTarballFiles, publintTarball } from './tarball-checks.js'
import { typecheckConsumer } from './typescript-consumer.js'
import { publishablePackages, repoRoot } from './workspace.js'

const report = new CheckReport()
const started = performance.now()
const work = mkdtempSync(join(tmpdir(), 'azothdb-pack-test-'))
const keep = process.env['AZOTH_PACK_TEST_KEEP'] === '1'

// The @types/node the workspace builds against, so the TypeScript consumers see the same Node API.
const typesNodeVersion = (
  JSON.parse(readFileSync(createRequire(import.meta.url).resolve('@types/node/package.json'), 'utf8')) as {
    version: string
  }
).version

// The @opentelemetry/api the workspace tests @azothdb/opentelemetry against (its peer dependency;
// the package does not export its package.json, so it is read from the package's node_modules).
const openTelemetryApiVersion = (
  JSON.parse(
    readFileSync(
      join(repoRoot, 'packages', 'opentelemetry', 'node_modules', '@opentelemetry', 'api', 'package.json'),
      'utf8',
    ),
  ) as { version: string }
).version

try {
  console.log(`pack test in ${work}`)
  let tarballs: Tarball[] = []
  await report.check('build (pnpm build) and pack every publishable package (pnpm pack)', async () => {
    await buildPackages()
    const outDir = join(work, 'tarballs')
    mkdirSync(outDir)
    tarballs = await packPackages(publishablePackages(), outDir)
  })
  if (tarballs.length > 0) await consumerChecks(tarballs)
} finally {
  const seconds = ((performance.now() - started) / 1000).toFixed(0)
  if (keep) console.log(`kept ${work}`)
  else rmSync(work, { recursive: true, force: true })
  if (report.failed > 0) console.log(`failed: ${report.failedNames().join('; ')}`)
  console.log(`pack-test took ${seconds} s`)
  console.log(`pack-test: ${report.passed} passed, ${report.failed} failed`)
  process.exitCode = report.failed > 0 ? 1 : 0
}

async function consumerChecks(tarballs: Tarball[]): Promise<void> {
  // One project depends on `azothdb` (and its OpenTelemetry bridge), one on `@azothdb/store-filelog` alone; both install
  // while the tarballs are linted (the first compiles better-sqlite3 where no prebuilt binary fits).
  const app = createConsumer(join(work, 'app'), ['azothdb', '@azothdb/opentelemetry'], tarballs, {
    '@types/node': typesNodeVersion,
    '@opentelemetry/api': openTelemetryApiVersion,
  })
  const log = createConsumer(join(work, 'filelog'), ['@azothdb/store-filelog'], tarballs)
  const relay = createConsumer(join(work, 'relay'), ['@azothdb/relay-nats'], tarballs)
  const appInstall = npmInstall(app)
  const logInstall = npmInstall(log)
  const relayInstall = npmInstall(relay)

  for (const tarball of tarballs) {
    const name = tarball.pkg.name
    await report.check(`${name}: publint --strict`, () => publintTarball(tarball))
    await report.check(`${name}: attw`, () => attwTarball(tarball))
    await report.check(`${name}: README.md and LICENSE packed, no repository-relative links`, () =>
      checkTarballFiles(tarball),
    )
  }

  const appInstalled = await report.check('azothdb alone: npm install, npm ls', async () => {
    const installed = await appInstall
    if (installed.code !== 0)
      throw new Error(`npm install exited ${installed.code ?? installed.signal}\n${installed.output}`)
    await runOrThrow('npm', ['ls', '--all'], { cwd: app.dir, timeoutMs: 60_000 })
  })
  const appChecks: [string, () => Promise<void>][] = []
  for (const block of runnableBlocks(join(repoRoot, 'README.md'), 'azothdb')) {
    appChecks.push([
      `azothdb alone: README.md code at line ${block.line} runs as ESM and prints what it promises`,
      () => runReadmeBlock(app.dir, `readme-${block.line}`, block.code),
    ])
  }
  appChecks.push([
    "azothdb alone: CommonJS require('azothdb') opens, commits, reads, closes",
    async () => {
      await runNode(app.dir, [addFixture(app, 'cjs-consumer.cjs')])
    },
  ])
  appChecks.push([
    "azothdb alone: import 'azothdb/testing' runs decider and projection specifications, and handleCommand",
    async () => {
      await runNode(app.dir, [addFixture(app, 'testing-consumer.mjs')])
    },
  ])
  appChecks.push([
    'azothdb alone: @azothdb/opentelemetry registers on the @opentelemetry/api meter and unregisters',
    async () => {
      await runNode(app.dir, [addFixture(app, 'otel-consumer.mjs')])
    },
  ])
  appChecks.push([
    'azothdb alone: tsc --noEmit, module nodenext (ESM and .cts), strict, skipLibCheck false',
    () =>
      typecheckConsumer(app, 'nodenext', [
        addFixture(app, 'ts-consumer.ts'),
        addFixture(app, 'ts-consumer-require.cts'),
      ]),
  ])
  appChecks.push([
    'azothdb alone: tsc --noEmit, moduleResolution bundler + module esnext, strict, skipLibCheck false',
    () => typecheckConsumer(app, 'bundler', [addFixture(app, 'ts-consumer.ts')]),
  ])
  for (const [name, fn] of appChecks) {
    if (appInstalled) await report.check(name, fn)
    else report.skipped(name, 'the install failed')
  }

  const logInstalled = await report.check(
    '@azothdb/store-filelog alone: npm install pulls in core and cbor-x, not LMDB, SQLite or pino',
    async () => {
      const installed = await logInstall
      if (installed.code !== 0)
        throw new Error(`npm install exited ${installed.code ?? installed.signal}\n${installed.output}`)
      await runOrThrow('npm', ['ls', '--all'], { cwd: log.dir, timeoutMs: 60_000 })
      for (const present of ['@azothdb/core', 'cbor-x']) {
        if (!existsSync(join(log.dir, 'node_modules', present)))
          throw new Error(`${present} is not installed`)
      }
      for (const absent of ['lmdb', 'better-sqlite3', 'pino', 'azothdb', '@azothdb/store-lmdb']) {
        if (existsSync(join(log.dir, 'node_modules', absent))) throw new Error(`${absent} was installed too`)
      }
    },
  )
  const readme = join(repoRoot, 'packages', 'store-filelog', 'README.md')
  const logChecks: [string, () => Promise<void>][] = []
  for (const block of runnableBlocks(readme, '@azothdb/store-filelog')) {
    logChecks.push([
      `@azothdb/store-filelog alone: its README code at line ${block.line} runs as ESM`,
      () => runReadmeBlock(log.dir, `readme-${block.line}`, block.code),
    ])
  }
  logChecks.push([
    '@azothdb/store-filelog alone: a durable log that keeps every synced record across SIGKILL',
    async () => {
      console.log(`    ${await filelogSurvivesKill(log, addFixture(log, 'filelog-consumer.mjs'))}`)
    },
  ])
  for (const [name, fn] of logChecks) {
    if (logInstalled) await report.check(name, fn)
    else report.skipped(name, 'the install failed')
  }

  const relayInstalled = await report.check(
    '@azothdb/relay-nats alone: npm install pulls in azothdb and the official NATS client',
    async () => {
      const installed = await relayInstall
      if (installed.code !== 0)
        throw new Error(`npm install exited ${installed.code ?? installed.signal}\n${installed.output}`)
      await runOrThrow('npm', ['ls', '--all'], { cwd: relay.dir, timeoutMs: 60_000 })
      for (const present of ['azothdb', '@nats-io/transport-node', '@nats-io/jetstream']) {
        if (!existsSync(join(relay.dir, 'node_modules', present)))
          throw new Error(`${present} is not installed`)
      }
    },
  )
  const relayCheck = '@azothdb/relay-nats alone: imports as ESM, checks its options against a real database'
  if (relayInstalled)
    await report.check(relayCheck, async () => {
      const result = await runNode(relay.dir, [addFixture(relay, 'relay-consumer.mjs')])
      if (!result.stdout.includes('relay-nats ok')) throw new Error(result.output)
    })
  else report.skipped(relayCheck, 'the install failed')
  await emmettChecks(report, join(work, 'emmett'), tarballs, typesNodeVersion, runReadmeBlock)
}

/**
 * Runs a README block as an ES module of the consumer project, in a directory of its own (blocks
 * use relative paths such as './data'), and compares what it prints with the values its
 * `console.log(...) // ...` comments promise.
 */
async function runReadmeBlock(projectDir: string, name: string, code: string): Promise<void> {
  const dir = join(projectDir, name)
  mkdirSync(dir)
  const file = join(dir, 'main.mjs')
  writeFileSync(file, toRunnableModule(code))
  const result = await runNode(dir, [file])
  const printed = result.stdout.trimEnd().split('\n')
  const promised = promisedOutput(code)
  const missing = promised.filter((line) => !printed.includes(line))
  if (missing.length > 0) {
    throw new Error(`expected the lines ${JSON.stringify(missing)} in its output:\n${result.output}`)
  }
}
