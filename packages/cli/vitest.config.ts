import { defineProject } from 'vitest/config'
import { sourceAliases } from '../../vitest.shared.js'

export default defineProject({
  resolve: { alias: sourceAliases },
  // Every test runs the command as child processes (node + tsx on the sources): about a second each.
  test: { name: 'cli', include: ['test/**/*.test.ts'], testTimeout: 60_000 },
})
