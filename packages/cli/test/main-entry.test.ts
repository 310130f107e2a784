import { isAzothError } from 'azothdb'
import { expect, it } from 'vitest'
import { EXIT, main } from '../src/index.js'

it('main() refuses an argv that is not an array of strings with INVALID_ARGUMENT', async () => {
  for (const argv of [undefined, 'status ./data', ['status', 42]]) {
    const refused = await main(argv as unknown as string[]).then(
      () => undefined,
      (e: unknown) => e,
    )
    expect(isAzothError(refused, 'INVALID_ARGUMENT')).toBe(true)
  }
})

it('main() resolves with the exit code of the command line it runs', async () => {
  const written: string[] = []
  const write = process.stdout.write
  process.stdout.write = ((chunk: string) => written.push(chunk) > 0) as typeof process.stdout.write
  try {
    expect(await main(['--version'])).toBe(EXIT.ok)
  } finally {
    process.stdout.write = write
  }
  expect(written.join('')).toMatch(/^\d+\.\d+\.\d+\n$/)
})
