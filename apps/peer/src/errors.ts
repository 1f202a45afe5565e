import { UserError } from '@natkit/events'

/** `natkit-peer dial`: the target is neither a multiaddr nor a peer id, or has no addresses (a usage problem). */
export class DialTargetError extends UserError {
  static override name = 'DialTargetError'
  override name = 'DialTargetError'
}
