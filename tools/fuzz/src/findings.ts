/** A crash-class finding: an unexpected error type, a rejected valid input, a slow input, a dead handler. */
export interface Finding {
  /** e.g. `codec dcutr/frame`, `stream relay /libp2p/circuit/relay/0.2.0/hop`, `udp stun` */
  target: string
  strategy?: string
  /** what went wrong, one line */
  problem: string
  /** the input (hex, first {@link MAX_FINDING_INPUT_BYTES} bytes) */
  input?: string
}

/**
 * Bytes of an input kept in a finding.
 *
 * @default 256
 */
export const MAX_FINDING_INPUT_BYTES = 256

/**
 * Findings kept per target (the count goes on).
 *
 * @default 20
 */
export const MAX_FINDINGS_PER_TARGET = 20

export function hex (bytes: Uint8Array): string {
  return Buffer.from(bytes.subarray(0, MAX_FINDING_INPUT_BYTES)).toString('hex') + (bytes.length > MAX_FINDING_INPUT_BYTES ? `…(${bytes.length} bytes)` : '')
}

export function describeError (err: unknown): string {
  return err instanceof Error ? `${err.name}: ${err.message}` : `non-Error thrown: ${String(err)}`
}
