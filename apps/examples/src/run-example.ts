/**
 * `pnpm example <name>`: runs `src/examples/<name>.ts`. Without a known name, lists the examples
 * and exits with 1.
 */
import { readdirSync } from 'node:fs'
import { fileURLToPath, pathToFileURL } from 'node:url'

const examplesDir = fileURLToPath(new URL('./examples/', import.meta.url))
const names = readdirSync(examplesDir)
  .filter((f) => f.endsWith('.ts'))
  .map((f) => f.slice(0, -3))
  .sort()

const name = process.argv[2]
if (name === undefined || !names.includes(name)) {
  if (name !== undefined) console.error(`unknown example '${name}'`)
  console.error(`usage: pnpm example <name>\n\nexamples:\n${names.map((n) => `  ${n}`).join('\n')}`)
  process.exit(1)
}

// In this process, so Ctrl-C reaches the example's own SIGINT handler.
await import(pathToFileURL(`${examplesDir}${name}.ts`).href)
