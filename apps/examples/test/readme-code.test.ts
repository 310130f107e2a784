import { mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { join, relative } from 'node:path'
import { fileURLToPath } from 'node:url'
import ts from 'typescript'
import { describe, expect, it } from 'vitest'

// Type-checks every ```ts block of the root README and of each package README against the
// packages' sources, so the documentation cannot drift from the API. Each block is an ES module
// of its own (top-level await works). A block that continues an earlier one states what it takes
// as given with leading `// given: <declaration>` lines, e.g. `// given: const db: Azoth`; each
// becomes `declare <declaration>` in the checked file.
const repoRoot = fileURLToPath(new URL('../../..', import.meta.url))
const checkDir = fileURLToPath(new URL('../.readme-check/', import.meta.url))

interface CodeBlock {
  readonly readme: string
  readonly line: number
  readonly code: string
  file: string
}

function readmes(): string[] {
  const packages = readdirSync(join(repoRoot, 'packages'))
    .sort()
    .map((p) => join('packages', p, 'README.md'))
  return ['README.md', ...packages].filter((path) => {
    try {
      readFileSync(join(repoRoot, path))
      return true
    } catch {
      return false // a package without a README has nothing to check
    }
  })
}

/** The ```ts / ```typescript blocks of a markdown file, with the line each starts on. */
function extractBlocks(readme: string): CodeBlock[] {
  const lines = readFileSync(join(repoRoot, readme), 'utf8').split('\n')
  const blocks: CodeBlock[] = []
  let start = -1
  let body: string[] = []
  lines.forEach((line, i) => {
    if (start < 0 && /^```(ts|typescript)\s*$/.test(line.trim())) {
      start = i + 1
      body = []
    } else if (start >= 0 && line.trim() === '```') {
      blocks.push({ readme, line: start, code: body.join('\n'), file: '' })
      start = -1
    } else if (start >= 0) body.push(line)
  })
  return blocks
}

/** The block as a checkable module: `// given:` lines become ambient declarations after the imports. */
function toModule(code: string): string {
  const lines = code.split('\n')
  const given: string[] = []
  while (lines[0] !== undefined && /^\s*\/\/\s*given:/.test(lines[0])) {
    given.push(`declare ${lines.shift()!.replace(/^\s*\/\/\s*given:\s*/, '')}`)
  }
  const rest = lines.join('\n')
  const parsed = ts.createSourceFile('block.ts', rest, ts.ScriptTarget.Latest)
  const imports = parsed.statements.filter(ts.isImportDeclaration)
  const end = imports.length === 0 ? 0 : imports[imports.length - 1]!.end
  return `${rest.slice(0, end)}\n${given.join('\n')}\n${rest.slice(end)}\n\nexport {}\n`
}

function compilerOptions(): ts.CompilerOptions {
  const configPath = join(repoRoot, 'tsconfig.base.json')
  const config = ts.readConfigFile(configPath, ts.sys.readFile)
  if (config.error) throw new Error(ts.flattenDiagnosticMessageText(config.error.messageText, '\n'))
  const parsed = ts.parseJsonConfigFileContent(config.config, ts.sys, repoRoot, undefined, configPath)
  return { ...parsed.options, noEmit: true, declaration: false, declarationMap: false, sourceMap: false }
}

const blocks = readmes().flatMap(extractBlocks)
rmSync(checkDir, { recursive: true, force: true })
mkdirSync(checkDir, { recursive: true })
for (const [i, block] of blocks.entries()) {
  const name = `${block.readme.replace(/[/.]/g, '_')}_line${block.line}_${i}.ts`
  block.file = join(checkDir, name)
  writeFileSync(block.file, toModule(block.code))
}
// One program for every block: the packages' sources are parsed once.
const program = ts.createProgram(
  blocks.map((b) => b.file),
  compilerOptions(),
)

function diagnosticsOf(file: string): string[] {
  const source = program.getSourceFile(file)
  if (source === undefined) return [`${file} is not part of the program`]
  return [...program.getSyntacticDiagnostics(source), ...program.getSemanticDiagnostics(source)].map((d) => {
    const { line } = d.file ? d.file.getLineAndCharacterOfPosition(d.start ?? 0) : { line: 0 }
    return `${relative(repoRoot, file)}:${line + 1}: ${ts.flattenDiagnosticMessageText(d.messageText, '\n')}`
  })
}

describe('README code blocks type-check against the packages', () => {
  it('finds the code blocks', () => {
    expect(blocks.filter((b) => b.readme === 'README.md').length).toBeGreaterThan(0)
  })

  it('has no global compiler errors', () => {
    const global = program
      .getGlobalDiagnostics()
      .map((d) => ts.flattenDiagnosticMessageText(d.messageText, '\n'))
    expect(global).toEqual([])
  })

  it.each(blocks.map((b) => [`${b.readme}:${b.line}`, b] as const))('%s', (_where, block) => {
    const problems = diagnosticsOf(block.file)
    expect(
      problems,
      `${block.readme} block at line ${block.line} (checked as ${relative(repoRoot, block.file)})`,
    ).toEqual([])
  })
})
