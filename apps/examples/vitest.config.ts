import { defineProject } from 'vitest/config'
import { sourceAliases } from '../../vitest.shared.js'

export default defineProject({
  resolve: { alias: sourceAliases },
  test: {
    name: 'examples',
    include: ['test/**/*.test.ts'],
    // Every example runs as a child process; the demo alone takes several seconds on 2 busy cores.
    testTimeout: 120_000,
    hookTimeout: 60_000,
  },
})
