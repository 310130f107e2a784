// The import graph `pnpm lint` enforces: arrows between packages point down only, and no module
// of a package's src/ takes part in an import cycle (type-only imports included: they tie two
// modules as tightly for a reader, and a later value import would make the cycle real).
/** @type {import('dependency-cruiser').IConfiguration} */
module.exports = {
  forbidden: [
    {
      name: 'no-circular',
      severity: 'error',
      comment:
        'A module of src/ takes part in an import cycle: move the shared part into a module both import.',
      from: { path: '^packages/[^/]+/src/' },
      to: { circular: true },
    },
    {
      name: 'core-depends-on-nothing-of-ours',
      severity: 'error',
      comment: '@azothdb/core is the bottom layer: it imports no other package of this repository.',
      from: { path: '^packages/core/' },
      to: { path: '^(packages|apps)/', pathNot: '^packages/core/' },
    },
    {
      name: 'layers-depend-only-on-core',
      severity: 'error',
      comment:
        'Stores, projection stores and the projector build on @azothdb/core alone (their tests may use more, ' +
        'through devDependencies); only the azothdb facade composes them.',
      from: {
        path: '^packages/(store-lmdb|store-filelog|projection-sqlite|projection-postgres|projector)/src/',
      },
      to: { path: '^(packages|apps)/', pathNot: ['^packages/$1/', '^packages/core/src/'] },
    },
    {
      name: 'packages-never-depend-on-apps',
      severity: 'error',
      comment: 'Apps are built on the packages, never the other way round.',
      from: { path: '^packages/' },
      to: { path: '^apps/' },
    },
    {
      name: 'src-never-imports-tests',
      severity: 'error',
      comment: 'Published code must not reach into test/ folders.',
      from: { path: '^(packages|apps)/[^/]+/src/' },
      to: { path: '^(packages|apps)/[^/]+/test/' },
    },
    {
      name: 'no-unresolvable-in-src',
      severity: 'error',
      comment: 'An import of src/ that resolves to nothing: a missing dependency or a typo.',
      from: { path: '^packages/[^/]+/src/' },
      to: { couldNotResolve: true },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    exclude: { path: '(^|/)(dist|node_modules|bench-results)/' },
    // Type-only imports are imports too (see the comment at the top).
    tsPreCompilationDeps: true,
    // Resolves @azothdb/* and azothdb to their sources, as the tests and the type checker do.
    tsConfig: { fileName: 'tsconfig.base.json' },
    enhancedResolveOptions: {
      exportsFields: ['exports'],
      conditionNames: ['import', 'require', 'node', 'default', 'types'],
      extensions: ['.ts', '.js', '.mjs', '.cjs', '.json', '.d.ts'],
    },
  },
}
