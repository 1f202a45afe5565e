/**
 * natkit's AutoNAT capabilities: the server guard and the reachability
 * checker. A separate entry (`@natkit/node/autonat`), so a role that runs no
 * AutoNAT (e.g. `natkit-relay --no-autonat`) never loads them.
 */
export { reachabilityChecker, ReachabilityChecker, NoCandidateAddressesError, type ReachabilityCheckerInit, type ReachabilityCheckerComponents } from './reachability.js'
export { autonatGuard, AutonatGuard, DEFAULT_AUTONAT_MAX_DIALS_PER_REQUEST, DEFAULT_AUTONAT_REQUESTS_PER_IP, DEFAULT_AUTONAT_REQUESTS_TOTAL, DEFAULT_AUTONAT_TRACKED_REQUESTERS, DEFAULT_AUTONAT_REQUEST_TIMEOUT, AUTONAT_RATE_WINDOW, type AutonatGuardInit, type AutonatGuardComponents } from './autonat-guard.js'
