import type { Connection } from '@libp2p/interface'

/** The libp2p ping protocol id. */
export const PING_PROTOCOL = '/ipfs/ping/1.0.0'
const PING_LENGTH = 32
/** Upper bound for one ping round trip. */
export const DEFAULT_PING_TIMEOUT = 10_000

export class PingMismatchError extends Error {
  override name = 'PingMismatchError'
}

/**
 * Pings over one specific connection (relayed or direct), unlike the ping
 * service, which picks a connection itself. Returns the round trip in ms.
 */
export async function pingConnection (conn: Connection, options: { signal?: AbortSignal } = {}): Promise<number> {
  const signal = options.signal ?? AbortSignal.timeout(DEFAULT_PING_TIMEOUT)
  const stream = await conn.newStream(PING_PROTOCOL, { signal, runOnLimitedConnection: true })
  try {
    const data = crypto.getRandomValues(new Uint8Array(PING_LENGTH))
    const received: Uint8Array[] = []
    let length = 0
    const { promise, resolve, reject } = Promise.withResolvers<number>()
    const start = performance.now()
    const onMessage = (evt: { data: Uint8Array | { subarray: () => Uint8Array } }): void => {
      const chunk: Uint8Array = evt.data instanceof Uint8Array ? evt.data : evt.data.subarray()
      received.push(chunk)
      length += chunk.byteLength
      if (length >= PING_LENGTH) {
        stream.removeEventListener('message', onMessage)
        const rtt = performance.now() - start
        const all = Buffer.concat(received).subarray(0, PING_LENGTH)
        if (Buffer.compare(all, Buffer.from(data)) !== 0) reject(new PingMismatchError('ping reply did not match'))
        else resolve(Math.round(rtt * 100) / 100)
      }
    }
    const onAbort = (): void => { reject(signal.reason ?? new Error('ping aborted')) }
    signal.addEventListener('abort', onAbort, { once: true })
    stream.addEventListener('message', onMessage)
    try {
      // inside the try: a send that throws (stream already closed) must not leave the abort listener to reject `promise` unobserved later
      stream.send(data)
      return await promise
    } finally {
      signal.removeEventListener('abort', onAbort)
    }
  } catch (err) {
    stream.abort(err as Error)
    throw err
  } finally {
    if (stream.status === 'open') await stream.close({ signal }).catch(() => {})
  }
}
