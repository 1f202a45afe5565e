/**
 * UDP fuzzing of a STUN server: fuzz datagrams from one socket on 127.0.0.1,
 * sent in bounded bursts (each burst waits for the server's answers to the
 * valid requests in it, or a short pause), so the kernel's socket buffers
 * are not what drops them.
 */
import { createSocket } from 'node:dgram'
import { generate, STRATEGIES, type Strategy } from './generators.js'
import { stunMessage, stunOversized } from './messages.js'
import { MAX_STUN_MESSAGE_SIZE } from '@natkit/stun'
import type { Rng } from './rng.js'

/**
 * Datagrams sent before yielding to the event loop (the server runs in the same process).
 *
 * @default 64
 */
export const DEFAULT_UDP_BURST = 64

export interface UdpResult {
  target: string
  inputs: number
  /** datagrams the server answered */
  answers: number
  byStrategy: Partial<Record<Strategy, number>>
  sendErrors: number
}

/** Sends `count` fuzz datagrams to host:port from `localAddress` (stops early at `deadline`). */
export async function fuzzStunUdp (name: string, host: string, port: number, rng: Rng, count: number, deadline = Infinity, localAddress = '127.0.0.1'): Promise<UdpResult> {
  const r: UdpResult = { target: name, inputs: 0, answers: 0, byStrategy: {}, sendErrors: 0 }
  const socket = createSocket('udp4')
  socket.on('message', () => { r.answers++ })
  socket.on('error', () => { r.sendErrors++ })
  await new Promise<void>((resolve) => { socket.bind(0, localAddress, resolve) })
  const source = { valid: stunMessage, maxSize: MAX_STUN_MESSAGE_SIZE, oversized: stunOversized, maxGarbage: 2 * MAX_STUN_MESSAGE_SIZE }
  try {
    for (let i = 0; i < count && Date.now() < deadline;) {
      const sends: Array<Promise<void>> = []
      for (let b = 0; b < DEFAULT_UDP_BURST && i < count; b++, i++) {
        const strategy = STRATEGIES[i % STRATEGIES.length]
        const input = generate(rng, source, strategy)
        r.inputs++
        r.byStrategy[strategy] = (r.byStrategy[strategy] ?? 0) + 1
        sends.push(new Promise((resolve) => {
          socket.send(input, port, host, (err) => { if (err != null) r.sendErrors++; resolve() })
        }))
      }
      await Promise.all(sends)
      // let the server (same process) drain its socket
      await new Promise(resolve => setImmediate(resolve))
    }
    // the last answers
    await new Promise(resolve => setTimeout(resolve, 50))
  } finally {
    await new Promise<void>((resolve) => { socket.close(() => { resolve() }) })
  }
  return r
}
