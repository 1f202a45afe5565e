/**
 * The fields of natkit's `nat` event (docs/events.md) from a discovery: the
 * verdicts, every observation per observer, the evidence. Shared by
 * `natkit-autonat nat` and natkit-peer's discovery at start.
 */
import type { NatDiscovery } from './discover.js'
import type { NatClassification } from './classify.js'

/** What the `nat` event carries (structurally `@natkit/events`' `NatEventPayload`). */
export type NatEventFields = Omit<NatClassification, 'evidence'> & {
  observers: Array<{ server: string, localPort: number, mapped?: string }>
  evidence: string[]
}

/** The `nat` event's fields of `discovery`. */
export function natEventFields (discovery: NatDiscovery): NatEventFields {
  const { evidence, ...verdict } = discovery.classification
  return {
    ...verdict,
    observers: discovery.observations.samples.map(s => ({ server: `${s.server.address}:${s.server.port}`, localPort: s.local.port, ...(s.mapped != null ? { mapped: `${s.mapped.address}:${s.mapped.port}` } : {}) })),
    evidence
  }
}
