// Fails when a source file of a package grows past MAX_LINES: a file that long holds more than one
// concept and should be split by concept (run by `pnpm lint`).
import { readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'

const MAX_LINES = 400
const root = new URL('..', import.meta.url).pathname

function* sourceFiles(dir) {
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name)
    if (entry.isDirectory()) yield* sourceFiles(path)
    else if (entry.name.endsWith('.ts')) yield path
  }
}

const tooLong = []
for (const pkg of readdirSync(join(root, 'packages'), { withFileTypes: true })) {
  if (!pkg.isDirectory()) continue
  const src = join(root, 'packages', pkg.name, 'src')
  let files
  try {
    files = [...sourceFiles(src)]
  } catch (e) {
    if (e.code === 'ENOENT') continue
    throw e
  }
  for (const file of files) {
    const text = readFileSync(file, 'utf8')
    const lines = text.split('\n').length - (text.endsWith('\n') ? 1 : 0)
    if (lines > MAX_LINES) tooLong.push(`${file.slice(root.length)}: ${lines} lines`)
  }
}

if (tooLong.length > 0) {
  console.error(`Source files over ${MAX_LINES} lines (split them by concept):\n  ${tooLong.join('\n  ')}`)
  process.exit(1)
}
console.log(`check-file-sizes: every packages/*/src file has at most ${MAX_LINES} lines`)
