import { readFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { dirname, join } from 'node:path'
import { publint } from 'publint'
import { formatMessage } from 'publint/utils'
import { run, runOrThrow } from './command.js'
import type { Tarball } from './pack.js'
import { repoRoot } from './workspace.js'

/** publint in strict mode (warnings count as errors) on the tarball's own files. */
export async function publintTarball(tarball: Tarball): Promise<void> {
  const bytes = readFileSync(tarball.path)
  const data = bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer
  const { messages, pkg } = await publint({ pack: { tarball: data }, strict: true, level: 'warning' })
  const errors = messages.filter((m) => m.type === 'error')
  if (errors.length > 0) {
    throw new Error(
      errors.map((m) => `publint ${m.code}: ${formatMessage(m, pkg, { color: false }) ?? ''}`).join('\n'),
    )
  }
}

/**
 * Are the Types Wrong on the tarball. Our packages are ESM only, and the one rule it would report,
 * `cjs-resolves-to-esm` ("require resolves to ESM: dynamic import only"), describes Node before
 * require(esm): on the Node versions `engines` admits (^20.19.0 || >=22.12.0) `require()` loads
 * them, and TypeScript 5.8+ types `import x = require()` of them under module nodenext (attw's
 * bundled TypeScript predates that). The CommonJS consumer and the `.cts` consumer of this pack
 * test prove both, so the rule is ignored and every other rule applies. The `node16` profile leaves
 * out TypeScript's `node10` resolution, which predates `exports` and so cannot see a subpath such as
 * `@azothdb/core/internal` (meant for our own packages, which resolve with nodenext).
 */
export async function attwTarball(tarball: Tarball): Promise<void> {
  const cliPackage = createRequire(import.meta.url).resolve('@arethetypeswrong/cli/package.json')
  const { bin } = JSON.parse(readFileSync(cliPackage, 'utf8')) as { bin: { attw: string } }
  const attw = join(dirname(cliPackage), bin.attw)
  const result = await run(
    process.execPath,
    [
      attw,
      tarball.path,
      '--profile',
      'node16',
      '--ignore-rules',
      'cjs-resolves-to-esm',
      '--format',
      'ascii',
      '--no-color',
      '--no-emoji',
    ],
    { cwd: repoRoot, timeoutMs: 120_000 },
  )
  if (result.code !== 0) throw new Error(`attw found problems:\n${result.output}`)
}

/**
 * The tarball carries its README and LICENSE, and the README reads on the npm registry's page: no
 * link into the repository tree (a relative link is broken there), only absolute URLs and anchors.
 */
export async function checkTarballFiles(tarball: Tarball): Promise<void> {
  const listing = await runOrThrow('tar', ['-tzf', tarball.path], { cwd: repoRoot, timeoutMs: 30_000 })
  const files = new Set(listing.stdout.split('\n').filter((l) => l !== ''))
  const missing = ['package/README.md', 'package/LICENSE', 'package/package.json'].filter(
    (f) => !files.has(f),
  )
  if (missing.length > 0) throw new Error(`missing from the tarball: ${missing.join(', ')}`)
  const readme = await runOrThrow('tar', ['-xzOf', tarball.path, 'package/README.md'], {
    cwd: repoRoot,
    timeoutMs: 30_000,
  })
  const relative = [...readme.stdout.matchAll(/\]\(\s*<?([^)\s>]+)/g)]
    .map((m) => m[1]!)
    .filter((target) => !/^(https?:|mailto:|#)/.test(target))
  if (relative.length > 0) {
    throw new Error(`README.md links that break on the registry page: ${relative.join(', ')}`)
  }
}
