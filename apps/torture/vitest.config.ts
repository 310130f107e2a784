import { defineProject } from 'vitest/config'
import { sourceAliases } from '../../vitest.shared.js'

const long = process.env.AZOTH_TORTURE === 'long'

export default defineProject({
  resolve: { alias: sourceAliases },
  test: {
    name: 'torture',
    include: ['test/**/*.test.ts'],
    globalSetup: ['test/global-setup.ts'],
    // The crash loop and the long profile run for minutes; every wait inside has its own deadline.
    testTimeout: long ? 3 * 60 * 60_000 : 300_000,
    hookTimeout: 60_000,
    // Warnings (every dead-lettered poison event) would drown the summary; errors still show.
    env: { AZOTH_LOG_LEVEL: process.env.AZOTH_LOG_LEVEL ?? 'error' },
  },
})
