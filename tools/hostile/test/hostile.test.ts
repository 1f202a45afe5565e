import { createServer, type Server, type Socket } from 'node:net'
import { afterEach, describe, expect, it } from 'vitest'
import { bounded, idleSockets } from '../src/index.js'

const cleanups: Array<() => void> = []
afterEach(() => { cleanups.splice(0).reverse().forEach(c => { c() }) })

describe('hostile clients', () => {
  it('bounded runs every task with at most `concurrency` at once and collects the failures', async () => {
    let running = 0
    let peak = 0
    const done: number[] = []
    const failures = await bounded(7, 3, async (i) => {
      running++
      peak = Math.max(peak, running)
      await new Promise(resolve => setTimeout(resolve, 5))
      running--
      if (i % 3 === 0) throw new Error(`task ${i}`)
      done.push(i)
    })
    expect(peak).toBe(3)
    expect(done.sort()).toEqual([1, 2, 4, 5])
    expect(failures.map(e => e.message).sort()).toEqual(['task 0', 'task 3', 'task 6'])
  })

  it('idleSockets connects each socket from its own loopback source and sends nothing', async () => {
    const accepted: Socket[] = []
    let received = 0
    const server: Server = createServer((s) => { accepted.push(s); s.on('data', (d) => { received += d.byteLength }) })
    cleanups.push(() => { accepted.forEach(s => s.destroy()); server.close() })
    await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve))
    const port = (server.address() as { port: number }).port
    const sockets = await idleSockets('127.0.0.1', port, 4, i => `127.4.0.${i + 1}`)
    cleanups.push(() => { sockets.forEach(s => s.destroy()) })
    expect(sockets.map(s => s.localAddress)).toEqual(['127.4.0.1', '127.4.0.2', '127.4.0.3', '127.4.0.4'])
    const deadline = Date.now() + 5_000
    while (accepted.length < 4 && Date.now() < deadline) await new Promise(resolve => setTimeout(resolve, 10))
    expect(accepted.map(s => s.remoteAddress).sort()).toEqual(['127.4.0.1', '127.4.0.2', '127.4.0.3', '127.4.0.4'])
    expect(received).toBe(0)
  })
})
