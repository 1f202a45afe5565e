#!/usr/bin/env -S node --max-semi-space-size=4
// --max-semi-space-size=4 (MiB): V8 grows its young generation to tens of MiB on its own, and with thousands of
// connections held every scavenge of it stopped the relay for 15-40 ms (the survivors of each burst of
// handshakes are copied); capped at 4 MiB, scavenges take 2-5 ms, and the relay used ~20 % less CPU per
// reservation and ~10 KiB less RSS per idle one (reports/bench.json; README "Benchmarks"). A flag V8 reads only
// at start, hence the shebang; what starts this file with `node` passes it too (@natkit/testkit binNodeFlags).
// Committed shim: npm links it at install time; the code it runs is built by `npm run build` (run by `npm ci`).
const major = Number(process.versions.node.split('.')[0])
if (major < 22) {
  console.error('natkit-relay: Node.js ' + process.versions.node + ' is too old; natkit needs Node >= 22 (run it through npx/npm scripts after `npm ci`, which installs Node 24).')
  process.exit(1)
}
// V8's code cache for the modules this process loads (in the OS temp dir; NODE_DISABLE_COMPILE_CACHE=1 turns it off):
// a later start parses and compiles none of the ~600 modules again
const { enableCompileCache } = await import('node:module')
enableCompileCache?.()
try {
  await import('../dist/cli.js')
} catch (err) {
  if (err?.code === 'ERR_MODULE_NOT_FOUND' && String(err.message).includes('/dist/cli.js')) {
    console.error('natkit-relay: not built yet; run `npm run build` in the natkit checkout')
    process.exit(1)
  }
  throw err
}
