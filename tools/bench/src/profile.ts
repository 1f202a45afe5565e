/**
 * Summary of a V8 CPU profile (`node --cpu-prof`): self time per function,
 * grouped by function name and source file (the package, for node_modules).
 */
import { readdirSync, readFileSync, statSync } from 'node:fs'
import { join } from 'node:path'

/**
 * Functions listed in a profile summary.
 *
 * @default 25
 */
export const DEFAULT_PROFILE_TOP = 25

interface ProfileNode {
  id: number
  callFrame: { functionName: string, url: string, lineNumber: number }
  hitCount?: number
}

interface CpuProfile {
  nodes: ProfileNode[]
  startTime: number
  endTime: number
  samples: number[]
}

export interface ProfileEntry {
  /** `function (package or file:line)` */
  fn: string
  selfMs: number
  /** share of all samples */
  selfShare: number
}

/** `@scope/name/dist/src/file.js` of a node_modules URL, or the path after the repo's packages/apps dir. */
function where (url: string, line: number): string {
  const nm = /node_modules\/((?:@[^/]+\/)?[^/]+)\/(.*)$/.exec(url)
  if (nm != null) return `${nm[1]}/${nm[2].replace(/^dist\//, '')}:${line + 1}`
  const own = /\/((?:packages|apps|tools)\/.*)$/.exec(url)
  return own != null ? `${own[1]}:${line + 1}` : url === '' ? '(native)' : `${url.replace(/^.*\//, '')}:${line + 1}`
}

/** The top self-time functions of a profile. */
export function summarizeProfile (profile: CpuProfile, top = DEFAULT_PROFILE_TOP): ProfileEntry[] {
  const totalMs = (profile.endTime - profile.startTime) / 1000
  const samples = profile.samples.length
  const msPerSample = samples === 0 ? 0 : totalMs / samples
  const self = new Map<string, number>()
  for (const n of profile.nodes) {
    const hits = n.hitCount ?? 0
    if (hits === 0) continue
    const name = `${n.callFrame.functionName === '' ? '(anonymous)' : n.callFrame.functionName} (${where(n.callFrame.url, n.callFrame.lineNumber)})`
    self.set(name, (self.get(name) ?? 0) + hits)
  }
  return [...self.entries()]
    .sort((a, b) => b[1] - a[1])
    .slice(0, top)
    .map(([fn, hits]) => ({ fn, selfMs: Math.round(hits * msPerSample), selfShare: Math.round((hits / Math.max(1, samples)) * 1000) / 1000 }))
}

/** The newest `.cpuprofile` in `dir`, summarized; undefined when there is none. */
export function summarizeNewestProfile (dir: string, top = DEFAULT_PROFILE_TOP): { file: string, top: ProfileEntry[] } | undefined {
  const files = readdirSync(dir).filter(f => f.endsWith('.cpuprofile')).map(f => join(dir, f))
  if (files.length === 0) return undefined
  const file = files.sort((a, b) => statSync(b).mtimeMs - statSync(a).mtimeMs)[0]
  return { file, top: summarizeProfile(JSON.parse(readFileSync(file, 'utf8')) as CpuProfile, top) }
}
