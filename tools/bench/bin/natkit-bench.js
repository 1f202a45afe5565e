#!/usr/bin/env node
// natkit's relay capacity benchmark (issue 14); see tools/bench/README.md
import { main } from '../dist/cli.js'

// exit explicitly: the load generator's sockets must not keep a finished run alive
process.exit(await main(process.argv.slice(2)))
