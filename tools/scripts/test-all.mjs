// `npm test`: runs every project's tests through Nx (one project at a time:
// the lab and integration tests start many processes on a 2-core machine),
// then prints per-package pass counts and one closing "N passed, N failed" line.
import { spawnSync } from 'node:child_process'
import { existsSync, readFileSync, readdirSync, rmSync } from 'node:fs'
import { join } from 'node:path'

const root = new URL('../..', import.meta.url).pathname
const projects = []
for (const group of ['packages', 'apps', 'tools']) {
  for (const dir of readdirSync(join(root, group))) {
    const pj = join(root, group, dir, 'package.json')
    if (!existsSync(pj)) continue
    const name = JSON.parse(readFileSync(pj, 'utf8')).name
    const results = join(root, group, dir, '.test-results', 'vitest.json')
    rmSync(results, { force: true })
    projects.push({ name, dir: join(group, dir), results })
  }
}
const extra = process.argv.slice(2)
const nx = spawnSync('npx', ['nx', 'run-many', '-t', 'test', '--output-style=static', '--parallel=1', ...extra], { cwd: root, stdio: 'inherit', env: { ...process.env, NX_DAEMON: 'false', NX_NO_CLOUD: 'true' } })

let passed = 0; let failed = 0; let skipped = 0
console.log('\nper-package results')
for (const p of projects) {
  if (!existsSync(p.results)) { console.log(`  ${p.name.padEnd(26)} not run`); continue }
  const r = JSON.parse(readFileSync(p.results, 'utf8'))
  const s = (r.numPendingTests ?? 0) + (r.numTodoTests ?? 0)
  passed += r.numPassedTests; failed += r.numFailedTests; skipped += s
  console.log(`  ${p.name.padEnd(26)} ${String(r.numPassedTests).padStart(4)} passed ${String(r.numFailedTests).padStart(3)} failed ${String(s).padStart(3)} skipped`)
}
console.log(`\n${passed} passed, ${failed} failed, ${skipped} skipped`)
process.exit(nx.status === 0 && failed === 0 ? 0 : 1)
