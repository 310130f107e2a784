#!/usr/bin/env node
import { main } from './main.js'

// `azothdb ... | head` closes the pipe early: that ends the output, it is not a failure.
process.stdout.on('error', (e: NodeJS.ErrnoException) => {
  if (e.code === 'EPIPE') process.exit(0)
  throw e
})
process.exitCode = await main(process.argv.slice(2))
