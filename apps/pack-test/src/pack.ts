import { existsSync } from 'node:fs'
import { join } from 'node:path'
import { runOrThrow } from './command.js'
import { type PublishablePackage, repoRoot, tarballName } from './workspace.js'

/** A packed package: the tarball npm would publish. */
export interface Tarball {
  readonly pkg: PublishablePackage
  readonly path: string
}

/** `pnpm build` (turbo, dependencies first), so `dist/` is what the sources say. */
export async function buildPackages(): Promise<void> {
  await runOrThrow('pnpm', ['build'], { cwd: repoRoot, timeoutMs: 300_000 })
}

/**
 * Packs each package with `pnpm pack`, which rewrites `workspace:*` and `catalog:` ranges to real
 * versions, exactly as `pnpm publish` would.
 */
export async function packPackages(
  packages: readonly PublishablePackage[],
  outDir: string,
): Promise<Tarball[]> {
  const tarballs: Tarball[] = []
  for (const pkg of packages) {
    await runOrThrow('pnpm', ['pack', '--pack-destination', outDir], { cwd: pkg.dir, timeoutMs: 60_000 })
    const path = join(outDir, tarballName(pkg))
    if (!existsSync(path)) throw new Error(`pnpm pack of ${pkg.name} did not write ${path}`)
    tarballs.push({ pkg, path })
  }
  return tarballs
}
