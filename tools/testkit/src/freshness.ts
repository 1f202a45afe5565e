/**
 * Refuses to spawn a workspace binary from a dist/ older than its src/.
 *
 * Tests and the lab spawn the apps' bin/ scripts, which run dist/ (not the
 * TypeScript sources). After an edit without a rebuild they would test stale
 * code and pass or fail for the wrong reason. {@link assertFreshBuild} compares,
 * for the binary's workspace package and every workspace package it depends on
 * (transitively, by the `@natkit/*` names in package.json), the newest file in
 * src/ (tests excluded) with the newest file in dist/ (tsc -b rewrites its
 * .tsbuildinfo there whenever it rebuilds), and throws {@link StaleBuildError}
 * naming the first newer source.
 */
import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs'
import { dirname, join, relative, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'

/** Most files stat-ed per src/ or dist/ tree (bounds the cost of one check). @default 5_000 */
export const DEFAULT_MAX_FILES = 5_000

/** The repository root (this file is at tools/testkit/{src,dist}/freshness.*). */
export const WORKSPACE_ROOT = fileURLToPath(new URL('../../../', import.meta.url))

const WORKSPACE_GROUPS = ['packages', 'apps', 'tools']

export class StaleBuildError extends Error {
  static override name = 'StaleBuildError'
  override name = 'StaleBuildError'
}

interface Newest { path: string, mtimeMs: number, files: number }

/** The newest file under `dir` (skipping `*.test.ts`), stat-ing at most `maxFiles` files. */
export function newestFile (dir: string, maxFiles = DEFAULT_MAX_FILES): Newest | undefined {
  let best: Newest | undefined
  let files = 0
  const walk = (d: string): void => {
    let entries
    try {
      entries = readdirSync(d, { withFileTypes: true })
    } catch {
      return
    }
    for (const e of entries) {
      if (files >= maxFiles) return
      const p = join(d, e.name)
      if (e.isDirectory()) {
        walk(p)
      } else if (e.isFile() && !e.name.endsWith('.test.ts')) {
        files++
        const m = statSync(p).mtimeMs
        if (best == null || m > best.mtimeMs) best = { path: p, mtimeMs: m, files: 0 }
      }
    }
  }
  walk(dir)
  return best != null ? { ...best, files } : undefined
}

/** Workspace package name → its directory. */
function workspacePackages (root: string): Map<string, string> {
  const out = new Map<string, string>()
  for (const group of WORKSPACE_GROUPS) {
    let dirs: string[] = []
    try {
      dirs = readdirSync(join(root, group))
    } catch {}
    for (const d of dirs) {
      const pj = join(root, group, d, 'package.json')
      if (existsSync(pj)) out.set(JSON.parse(readFileSync(pj, 'utf8')).name, join(root, group, d))
    }
  }
  return out
}

function readDeps (dir: string): string[] {
  const pkg = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8'))
  return Object.keys({ ...pkg.dependencies })
}

/** The directory of the package that contains `file` (nearest package.json). */
export function packageDirOf (file: string): string {
  let d = dirname(resolve(file))
  while (!existsSync(join(d, 'package.json'))) {
    const up = dirname(d)
    if (up === d) throw new StaleBuildError(`${file} is not inside a package`)
    d = up
  }
  return d
}

/**
 * Why the build of the package in `packageDir` (and of the workspace packages
 * it depends on at run time) is stale, or undefined when every dist/ is at
 * least as new as its src/. Packages without a src/ are not built and skipped.
 */
export function staleBuildReason (packageDir: string, root = WORKSPACE_ROOT): string | undefined {
  const packages = workspacePackages(root)
  const seen = new Set<string>()
  const queue = [resolve(packageDir)]
  while (queue.length > 0) {
    const dir = queue.shift() as string
    if (seen.has(dir)) continue
    seen.add(dir)
    for (const dep of readDeps(dir)) {
      const depDir = packages.get(dep)
      if (depDir != null) queue.push(depDir)
    }
    const src = newestFile(join(dir, 'src'))
    if (src == null) continue
    const rel = relative(root, dir)
    const dist = newestFile(join(dir, 'dist'))
    if (dist == null) return `${rel} is not built (no ${rel}/dist): run npm run build`
    if (src.mtimeMs > dist.mtimeMs) {
      return `${relative(root, src.path)} changed after ${rel}/dist was built (${new Date(src.mtimeMs).toISOString()} > ${new Date(dist.mtimeMs).toISOString()}): run npm run build`
    }
  }
  return undefined
}

/**
 * Throws {@link StaleBuildError} when `script` (a bin/ or dist/ file of a
 * workspace package) would run a dist/ older than its src/ or than the src/
 * of a workspace package it depends on.
 */
export function assertFreshBuild (script: string, root = WORKSPACE_ROOT): void {
  const reason = staleBuildReason(packageDirOf(script), root)
  if (reason != null) throw new StaleBuildError(`refusing to run ${relative(root, resolve(script))} from a stale build: ${reason}`)
}
