#!/usr/bin/env node
// Container healthcheck for natkit roles.
//   natkit-healthcheck tcp://HOST:PORT               something accepts TCP connections there
//   natkit-healthcheck http://HOST:PORT/metrics NAME [MIN]
//                                                    the Prometheus counter NAME (summed over
//                                                    labels) is >= MIN (default 1), e.g.
//                                                    natkit_reservations_total on a peer
// Exit 0 healthy, 1 not (yet). Bounded by TIMEOUT_MS.
import { connect } from 'node:net'

const TIMEOUT_MS = 3000
const [target, metric, minText] = process.argv.slice(2)
const healthy = (ok, why) => {
  if (!ok && why != null) console.error(why)
  process.exit(ok ? 0 : 1)
}
if (target == null) healthy(false, 'usage: natkit-healthcheck tcp://HOST:PORT | http://HOST:PORT/metrics NAME [MIN]')
const url = new URL(target)
if (url.protocol === 'tcp:') {
  const socket = connect({ host: url.hostname, port: Number(url.port), timeout: TIMEOUT_MS })
  socket.once('connect', () => { socket.destroy(); healthy(true) })
  socket.once('timeout', () => { socket.destroy(); healthy(false, 'timeout') })
  socket.once('error', (err) => { healthy(false, err.message) })
} else {
  const min = Number(minText ?? 1)
  try {
    const res = await fetch(url, { signal: AbortSignal.timeout(TIMEOUT_MS) })
    const text = await res.text()
    let sum = 0
    for (const line of text.split('\n')) {
      const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{[^}]*\})?\s+(\S+)/.exec(line)
      if (m != null && m[1] === metric) sum += Number(m[3])
    }
    healthy(sum >= min, `${metric} = ${sum} < ${min}`)
  } catch (err) {
    healthy(false, err.message)
  }
}
