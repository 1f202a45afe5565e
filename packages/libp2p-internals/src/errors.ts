/** An internal natkit relies on is not where the verified versions had it. */
export class Libp2pInternalsChangedError extends Error {
  static override name = 'Libp2pInternalsChangedError'
  override name = 'Libp2pInternalsChangedError'
}
