import { readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'

export const repoRoot = fileURLToPath(new URL('../../../', import.meta.url))

/** A package of the workspace that is published to npm. */
export interface PublishablePackage {
  readonly name: string
  readonly version: string
  readonly dir: string
}

interface PackageJson {
  readonly name: string
  readonly version: string
  readonly private?: boolean
}

/** Every non-private package under `packages/`, so a new package is packed and checked without edits here. */
export function publishablePackages(): PublishablePackage[] {
  const root = join(repoRoot, 'packages')
  return readdirSync(root, { withFileTypes: true })
    .filter((d) => d.isDirectory())
    .map((d) => join(root, d.name))
    .flatMap((dir) => {
      const pkg = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as PackageJson
      return pkg.private === true ? [] : [{ name: pkg.name, version: pkg.version, dir }]
    })
    .sort((a, b) => a.name.localeCompare(b.name))
}

/** The file name `pnpm pack` gives a package's tarball: `@scope/name` becomes `scope-name`. */
export function tarballName(pkg: PublishablePackage): string {
  return `${pkg.name.replace(/^@/, '').replace('/', '-')}-${pkg.version}.tgz`
}
