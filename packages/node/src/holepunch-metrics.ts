import client from 'prom-client'
import {
  GO_ADDRESS_OUTCOMES, GO_IP_VERSIONS, GO_NUM_ATTEMPTS, GO_SIDES, GO_TRANSPORTS, goOutcomeLabels,
  type HolePunchDirectDialEvent, type HolePunchOutcomeEvent
} from '@natkit/holepunch'

/**
 * go-libp2p's hole punch metrics, same names, labels and semantics
 * (`p2p/protocol/holepunch/metrics.go`), so its holepunch Grafana dashboard
 * works on natkit peers unchanged. natkit's own `natkit_holepunch_total` stays
 * beside them.
 */
export const GO_HOLEPUNCH_METRICS = {
  directDials: 'libp2p_holepunch_direct_dials_total',
  outcomes: 'libp2p_holepunch_outcomes_total',
  addressOutcomes: 'libp2p_holepunch_address_outcomes_total'
} as const

function counter (name: string, help: string, labelNames: string[]): client.Counter {
  return (client.register.getSingleMetric(name) as client.Counter | undefined) ?? new client.Counter({ name, help, labelNames })
}

/**
 * Counts the hole punch service's `holepunch:outcome` and
 * `holepunch:direct-dial` events into the go-compatible series on the default
 * registry (the one `--metrics` serves). Returns a function that detaches.
 */
export function registerGoHolePunchMetrics (holepunch: EventTarget): () => void {
  const directDials = counter(GO_HOLEPUNCH_METRICS.directDials, 'Direct Dials Total', ['outcome'])
  const outcomes = counter(GO_HOLEPUNCH_METRICS.outcomes, 'Hole Punch outcomes overall', ['side', 'num_attempts', 'outcome'])
  const addressOutcomes = counter(GO_HOLEPUNCH_METRICS.addressOutcomes, 'Hole Punch outcomes by Transport', ['side', 'num_attempts', 'ipv', 'transport', 'outcome'])
  // pre-initialised like go-libp2p, so the first data point is a change from 0
  for (const side of GO_SIDES) {
    for (const n of GO_NUM_ATTEMPTS) {
      for (const outcome of GO_ADDRESS_OUTCOMES) {
        for (const ipv of GO_IP_VERSIONS) {
          for (const transport of GO_TRANSPORTS) addressOutcomes.inc({ side, num_attempts: n, ipv, transport, outcome }, 0)
        }
        if (outcome !== 'cancelled') outcomes.inc({ side, num_attempts: n, outcome }, 0)
      }
    }
  }
  const onOutcome = (evt: Event): void => {
    const labels = goOutcomeLabels((evt as CustomEvent<HolePunchOutcomeEvent>).detail)
    outcomes.inc({ ...labels.outcome })
    for (const a of labels.addresses) addressOutcomes.inc({ ...a })
  }
  const onDirectDial = (evt: Event): void => {
    directDials.inc({ outcome: (evt as CustomEvent<HolePunchDirectDialEvent>).detail.success ? 'success' : 'failed' })
  }
  holepunch.addEventListener('holepunch:outcome', onOutcome)
  holepunch.addEventListener('holepunch:direct-dial', onDirectDial)
  return () => {
    holepunch.removeEventListener('holepunch:outcome', onOutcome)
    holepunch.removeEventListener('holepunch:direct-dial', onDirectDial)
  }
}
