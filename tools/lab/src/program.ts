import { Command, Option } from 'commander'
import { selfCheck } from './check.js'
import { cleanupAll, Lab, LabPrerequisiteError, listLeftovers } from './netns.js'
import { defaultTopology, describeTopology, NAT_PROFILES, UnsupportedNatProfileError } from './topology.js'
import type { NatProfile } from './topology.js'

/** Exit code: the lab could not run here (prerequisites, unsupported profile, not implemented). */
export const EXIT_CANNOT_RUN = 2
/** Exit code: the lab ran and a check failed. */
export const EXIT_CHECK_FAILED = 1

export class NotImplementedError extends Error {
  override name = 'NotImplementedError'
}

function fail (err: unknown): never {
  const e = err as Error
  const cannotRun = e instanceof LabPrerequisiteError || e instanceof UnsupportedNatProfileError || e instanceof NotImplementedError
  process.stderr.write(`natkit-lab: ${e.name}: ${e.message}\n`)
  process.exit(cannotRun ? EXIT_CANNOT_RUN : EXIT_CHECK_FAILED)
}

function profileOption (flag: string, description: string, fallback: NatProfile): Option {
  return new Option(flag, description).choices(NAT_PROFILES).default(fallback)
}

/** The `natkit-lab` command line. `run`, `demo` and `matrix` are placeholders. */
export function createProgram (): Command {
  const program = new Command('natkit-lab')
    .description('NAT lab: real NAT routers (nftables) in Linux network namespaces, isolated from the host network')

  program.command('cleanup')
    .description('remove every lab namespace left by earlier runs (prefix nkXXXX-)')
    .option('--prefix <prefix>', 'only this prefix, e.g. nk1a2b-')
    .action(async (opts: { prefix?: string }) => {
      try {
        const removed = await cleanupAll(opts.prefix)
        const left = await listLeftovers(opts.prefix)
        process.stdout.write(removed.length === 0 ? 'nothing to clean up\n' : `removed ${removed.length} namespace(s): ${removed.join(' ')}\n`)
        if (left.links.length + left.tables.length > 0) {
          process.stderr.write(`natkit-lab: unexpected leftovers in the host namespace: ${[...left.links, ...left.tables].join(' ')}\n`)
          process.exit(EXIT_CHECK_FAILED)
        }
      } catch (err) {
        fail(err)
      }
    })

  program.command('topo')
    .description('build the two-NAT topology, print it, run a TCP connectivity self-check and tear it down')
    .addOption(profileOption('--a <profile>', 'NAT in front of peer-a', 'port-restricted'))
    .addOption(profileOption('--b <profile>', 'NAT in front of peer-b', 'port-restricted'))
    .option('--json', 'print the topology and results as JSON')
    .action(async (opts: { a: NatProfile, b: NatProfile, json?: boolean }) => {
      let lab: Lab | undefined
      try {
        const topology = defaultTopology(opts.a, opts.b)
        lab = await Lab.create(topology, { log: opts.json === true ? undefined : (l) => { process.stderr.write(`${l}\n`) } })
        const results = await selfCheck(lab)
        if (opts.json === true) {
          process.stdout.write(`${JSON.stringify({ prefix: lab.prefix, namespaces: lab.namespaces, topology, results })}\n`)
        } else {
          process.stdout.write(`${describeTopology(topology)}\nnamespaces: ${lab.namespaces.join(' ')}\n`)
          for (const r of results) process.stdout.write(`${r.ok ? 'ok  ' : 'FAIL'} ${r.check}: ${r.detail}\n`)
        }
        await lab.destroy()
        lab = undefined
        if (results.some(r => !r.ok)) process.exit(EXIT_CHECK_FAILED)
      } catch (err) {
        await lab?.destroy().catch(() => {})
        fail(err)
      }
    })

  for (const name of ['run', 'demo', 'matrix']) {
    program.command(name)
      .description(`${name} (not implemented yet)`)
      .allowUnknownOption()
      .allowExcessArguments()
      .action(() => {
        fail(new NotImplementedError(`"natkit-lab ${name}" is not implemented yet`))
      })
  }
  return program
}
