#!/usr/bin/env node
// natkit's fuzz suite (issue 11); see tools/fuzz/README.md
import { main } from '../dist/cli.js'

// exit explicitly: a handle a library left behind must not keep a finished run alive
process.exit(await main(process.argv.slice(2)))
