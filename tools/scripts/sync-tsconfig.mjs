// Regenerates each workspace project's tsconfig.lib.json `references` and the root
// tsconfig.build.json from the `@natkit/*` dependencies declared in package.json.
// Run after adding a workspace dependency: `node tools/scripts/sync-tsconfig.mjs`.
import { readdirSync, readFileSync, writeFileSync, existsSync } from 'node:fs'
import { join, relative } from 'node:path'

const root = new URL('../..', import.meta.url).pathname
const projects = new Map()
for (const group of ['packages', 'apps', 'tools', 'examples']) {
  for (const dir of readdirSync(join(root, group))) {
    const pj = join(root, group, dir, 'package.json')
    if (!existsSync(pj)) continue
    projects.set(JSON.parse(readFileSync(pj, 'utf8')).name, join(group, dir))
  }
}
const refs = []
for (const [name, dir] of projects) {
  const pkg = JSON.parse(readFileSync(join(root, dir, 'package.json'), 'utf8'))
  const vc = join(root, dir, 'vitest.config.ts')
  if (!existsSync(vc)) writeFileSync(vc, `export { default } from '${relative(join(root, dir), join(root, 'vitest.shared.js'))}'\n`)
  // a test-only project (no src/, e.g. tools/roles-test) has nothing to build; tsconfig.json type-checks its tests
  if (!existsSync(join(root, dir, 'src'))) continue
  const deps = Object.keys({ ...pkg.dependencies, ...pkg.devDependencies }).filter((d) => projects.has(d))
  const tsconfig = {
    extends: relative(join(root, dir), join(root, 'tsconfig.base.json')),
    compilerOptions: { rootDir: 'src', outDir: 'dist', tsBuildInfoFile: 'dist/tsconfig.lib.tsbuildinfo' },
    include: ['src/**/*.ts'],
    exclude: ['src/**/*.test.ts'],
    references: deps.map((d) => ({ path: relative(join(root, dir), join(root, projects.get(d), 'tsconfig.lib.json')) }))
  }
  writeFileSync(join(root, dir, 'tsconfig.lib.json'), JSON.stringify(tsconfig, null, 2) + '\n')
  refs.push({ path: join(dir, 'tsconfig.lib.json') })
  void name
}
writeFileSync(join(root, 'tsconfig.build.json'), JSON.stringify({ files: [], references: refs }, null, 2) + '\n')
console.log(`synced ${projects.size} projects`)
