import { PassThrough } from 'node:stream'
import { NatkitEvents, type NatkitEvent } from '@natkit/events'
import { describe, expect, it } from 'vitest'
import { MAX_BACKGROUND_COMMANDS, ShellOutput, runShell, type ShellCommand } from './index.js'

function setup (execute: (c: ShellCommand) => Promise<void>, background?: (c: ShellCommand) => boolean): { input: PassThrough, seen: NatkitEvent[], done: Promise<number> } {
  const input = new PassThrough()
  const events = new NatkitEvents()
  const seen: NatkitEvent[] = []
  events.onAny((e) => { seen.push(e) })
  const done = runShell({ input, interactive: false, events, execute, ...(background != null ? { background } : {}) })
  return { input, seen, done }
}

describe('runShell (one command per line)', () => {
  it('runs commands in order, reports bad lines as command:error and stops at quit', async () => {
    const ran: string[] = []
    const { input, seen, done } = setup(async (c) => {
      ran.push(c.command)
      if (c.command === 'ping') throw new Error('not connected to 12D3KooWx\n  at stack')
    })
    input.write('join chat\nbogus\nsay chat\nping 12D3KooWx\nsay chat hi\nquit\npeers\n')
    expect(await done).toBe(0)
    expect(ran).toEqual(['join', 'ping', 'say'])
    expect(seen.map(e => e.event === 'command:error' ? [e.command, e.message] : e.event)).toEqual([
      ['bogus', 'unknown command "bogus"; type help'],
      ['say', 'say needs 2 arguments: say <topic> <text>'],
      ['ping', 'not connected to 12D3KooWx']
    ])
  })

  it('at the end of input waits for background commands before resolving', async () => {
    const { promise: gate, resolve: open } = Promise.withResolvers<void>()
    const finished: string[] = []
    const { input, done } = setup(async (c) => {
      if (c.command === 'get') await gate
      finished.push(c.command)
    }, c => c.command === 'get')
    input.end('get a.bin\npeers\n')
    let resolved = false
    void done.then(() => { resolved = true })
    // `peers` ran although `get` is still running
    await expect.poll(() => finished).toEqual(['peers'])
    expect(resolved).toBe(false)
    open()
    expect(await done).toBe(0)
    expect(finished).toEqual(['peers', 'get'])
  })

  it(`refuses more than ${MAX_BACKGROUND_COMMANDS} background commands at once`, async () => {
    const { promise: gate, resolve: open } = Promise.withResolvers<void>()
    const { input, seen, done } = setup(async () => { await gate }, () => true)
    input.end('get x\n'.repeat(MAX_BACKGROUND_COMMANDS + 1))
    await expect.poll(() => seen.length).toBe(1)
    expect(seen[0]).toMatchObject({ event: 'command:error', command: 'get', message: `${MAX_BACKGROUND_COMMANDS} commands are already running; wait for one to finish` })
    open()
    expect(await done).toBe(0)
  })
})

describe('runShell (interactive)', () => {
  it('prints output above the line being typed and redraws the prompt with what was typed so far', async () => {
    const input = new PassThrough()
    const output = new PassThrough()
    let drawn = ''
    output.on('data', (d: Buffer) => { drawn += d.toString() })
    const printer = new ShellOutput(output)
    const ran: string[] = []
    const done = runShell({ input, output, interactive: true, prompt: '> ', events: new NatkitEvents(), execute: async (c) => { ran.push(c.command) } }, printer)
    input.write('say ch')
    await expect.poll(() => drawn).toContain('say ch')
    const before = drawn.length
    printer.write('[chat] someone: hi\n')
    const after = drawn.slice(before)
    // clear the line, print, then the prompt and the partly typed line again, the cursor after it (column 9)
    const ESC = '\u001b'
    expect(after.startsWith(`${ESC}[2K${ESC}[1G[chat] someone: hi\n`)).toBe(true)
    expect(after.endsWith(`> say ch${ESC}[9G`)).toBe(true)
    input.write('at hello\r')
    await expect.poll(() => ran).toEqual(['say'])
    input.end()
    expect(await done).toBe(0)
    // once the shell ended, output is written as it is
    printer.write('bye\n')
    expect(drawn.endsWith('bye\n')).toBe(true)
  })
})
