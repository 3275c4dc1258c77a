/**
 * Security: proof of cluster membership (a shared secret or client certificates), TLS with reload, HTTP access
 * levels (tokens, signed node requests), rate limits. See docs/SECURITY.md.
 */
export {
  DEFAULT_REPLAY_WINDOW_MS,
  HttpAuth,
  type HttpAuthOptions,
  type Principal,
  SIGNATURE_HEADERS,
  signRequest,
} from './http-auth.js';
export { isLoopbackHost, NodeSecurity, type NodeSecurityContext, type TlsReloadResult } from './node-security.js';
export {
  type ClientCertMode,
  DEFAULT_LIMITS,
  type LimitsOptions,
  membershipSecured,
  type RateOptions,
  type ResolvedLimits,
  type ResolvedSecurity,
  type ResolvedTls,
  resolveSecurity,
  type SecurityOptions,
  type TlsOptions,
} from './options.js';
export { RaftAuth, type RaftAuthOptions } from './raft-auth.js';
export { RateLimiter, type RateLimiterOptions } from './rate-limit.js';
export { ClusterSecret, MIN_SECRET_BYTES, REDACTED, TokenSet } from './secret.js';
export { TlsMaterial, verifiedCertNames } from './tls.js';
