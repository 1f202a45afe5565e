#!/usr/bin/env node
import { existsSync } from 'node:fs'

const cli = new URL('../dist/cli.js', import.meta.url)
if (!existsSync(cli)) {
  process.stderr.write('natkit-lab: tools/lab/dist/cli.js is missing; run npm run build first\n')
  process.exit(2)
}
await import(cli.href)
