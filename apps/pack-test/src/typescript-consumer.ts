import { writeFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { join } from 'node:path'
import { consumerEnv, run } from './command.js'
import type { ConsumerProject } from './consumer-project.js'

const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc')

/** How a TypeScript application may resolve our packages. */
export type ResolutionMode = 'nodenext' | 'bundler'

const moduleOptions: Record<ResolutionMode, { module: string; moduleResolution: string }> = {
  nodenext: { module: 'nodenext', moduleResolution: 'nodenext' },
  bundler: { module: 'esnext', moduleResolution: 'bundler' },
}

/**
 * `tsc --noEmit` over the given files of the project, strict and with `skipLibCheck: false`: every
 * declaration file our types reach, ours and our dependencies', must compile in the user's program.
 */
export async function typecheckConsumer(
  project: ConsumerProject,
  mode: ResolutionMode,
  files: readonly string[],
): Promise<void> {
  const config = {
    compilerOptions: {
      ...moduleOptions[mode],
      target: 'es2022',
      strict: true,
      skipLibCheck: false,
      noEmit: true,
    },
    files,
  }
  const configFile = join(project.dir, `tsconfig.${mode}.json`)
  writeFileSync(configFile, `${JSON.stringify(config, null, 2)}\n`)
  const result = await run(process.execPath, [tsc, '-p', configFile, '--pretty', 'false'], {
    cwd: project.dir,
    env: consumerEnv(),
    timeoutMs: 120_000,
  })
  if (result.code !== 0) {
    throw new Error(
      `tsc (module ${config.compilerOptions.module}, moduleResolution ${mode}):\n${result.output}`,
    )
  }
}
