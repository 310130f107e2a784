import { readFileSync } from 'node:fs'
import ts from 'typescript'

/** A fenced ```ts block of a README, with the line its code starts on. */
export interface ReadmeBlock {
  readonly line: number
  readonly code: string
}

/**
 * The ```ts / ```typescript blocks of a markdown file that run on their own: those that import
 * `moduleName` and take nothing as given (blocks that continue an earlier one start with
 * `// given:` lines and are only type-checked, by the examples app's README test).
 */
export function runnableBlocks(markdownPath: string, moduleName: string): ReadmeBlock[] {
  const lines = readFileSync(markdownPath, 'utf8').split('\n')
  const blocks: ReadmeBlock[] = []
  let start = -1
  let body: string[] = []
  lines.forEach((line, i) => {
    if (start < 0 && /^```(ts|typescript)\s*$/.test(line.trim())) {
      start = i + 2
      body = []
    } else if (start >= 0 && line.trim() === '```') {
      blocks.push({ line: start, code: body.join('\n') })
      start = -1
    } else if (start >= 0) body.push(line)
  })
  const importsModule = new RegExp(`from '${moduleName.replace(/[/.]/g, '\\$&')}'`)
  return blocks.filter((b) => importsModule.test(b.code) && !/^\s*\/\/\s*given:/m.test(b.code))
}

// A value as console.log prints it at top level: a quoted string (printed without its quotes), a
// number or bigint, a boolean, null or undefined.
const printedValue = /'[^']*'|-?\d+(\.\d+)?n?|true|false|null|undefined/y

/**
 * The output a block promises: a `console.log(...) // <values>` line whose comment is a list of
 * values (e.g. `// 100n 1`, `// 'lmdb' 'file'`) is the line it prints. Prose comments are not
 * outputs. Strings lose their quotes, as console.log prints them.
 */
export function promisedOutput(code: string): string[] {
  const promised: string[] = []
  for (const line of code.split('\n')) {
    const m = /^\s*console\.log\(.*\)\s*\/\/\s*(.+?)\s*$/.exec(line)
    if (m === null) continue
    const values = parseValues(m[1]!)
    if (values !== undefined) promised.push(values.join(' '))
  }
  return promised
}

function parseValues(comment: string): string[] | undefined {
  const values: string[] = []
  let at = 0
  while (at < comment.length) {
    printedValue.lastIndex = at
    const m = printedValue.exec(comment)
    if (m === null) return undefined
    values.push(m[0].startsWith("'") ? m[0].slice(1, -1) : m[0])
    at = printedValue.lastIndex
    while (comment[at] === ' ') at++
  }
  return values
}

/**
 * The block as an ES module Node runs: types stripped and `await using` lowered (Node 20 has no
 * explicit resource management syntax). Type errors are the README type-check test's concern.
 */
export function toRunnableModule(code: string): string {
  return ts.transpileModule(code, {
    compilerOptions: { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2022 },
    reportDiagnostics: false,
  }).outputText
}
