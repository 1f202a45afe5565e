#!/usr/bin/env node
// Every package's protons codecs (src/pb/*.ts) must be what `protons` generates
// from the .proto beside them: regenerates each into a temporary directory and
// compares. Fails naming the stale file (run `npm run generate -w <package>`).
import { spawnSync } from 'node:child_process'
import { copyFileSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

const root = new URL('../..', import.meta.url).pathname
const protons = join(root, 'node_modules/.bin/protons')
let stale = 0
let checked = 0
for (const group of ['packages', 'apps', 'tools']) {
  for (const name of readdirSync(join(root, group))) {
    const pb = join(root, group, name, 'src/pb')
    if (!existsSync(pb)) continue
    for (const proto of readdirSync(pb).filter(f => f.endsWith('.proto'))) {
      const tmp = mkdtempSync(join(tmpdir(), 'natkit-codecs-'))
      try {
        copyFileSync(join(pb, proto), join(tmp, proto))
        const r = spawnSync(protons, [join(tmp, proto)], { encoding: 'utf8', timeout: 60_000 })
        if (r.status !== 0) {
          console.error(`check-codecs: protons failed on ${group}/${name}/src/pb/${proto}: ${(r.stderr || r.error?.message || '').trim().split('\n').pop()}`)
          process.exit(1)
        }
        const generated = proto.replace(/\.proto$/, '.ts')
        checked++
        if (!existsSync(join(pb, generated)) || readFileSync(join(pb, generated), 'utf8') !== readFileSync(join(tmp, generated), 'utf8')) {
          console.error(`check-codecs: ${group}/${name}/src/pb/${generated} is not what protons generates from ${proto} (run npm run generate -w ${group}/${name})`)
          stale++
        }
      } finally {
        rmSync(tmp, { recursive: true, force: true })
      }
    }
  }
}
if (stale > 0) process.exit(1)
console.log(`check-codecs: ${checked} protons codec(s) match their .proto`)
