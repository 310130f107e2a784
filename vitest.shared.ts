import { fileURLToPath } from 'node:url'

// Tests run against the TypeScript sources of our packages, never a build.
const root = fileURLToPath(new URL('.', import.meta.url))

export const sourceAliases: Record<string, string> = {
  '@azoth/core': `${root}packages/core/src/index.ts`,
  '@azoth/store-lmdb': `${root}packages/store-lmdb/src/index.ts`,
  '@azoth/store-filelog': `${root}packages/store-filelog/src/index.ts`,
  '@azoth/projection-sqlite': `${root}packages/projection-sqlite/src/index.ts`,
  '@azoth/projector': `${root}packages/projector/src/index.ts`,
  azoth: `${root}packages/azoth/src/index.ts`,
}
