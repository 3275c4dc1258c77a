/**
 * ClusterKit's HTTP API: the Go original's endpoints and JSON shapes (with its bugs fixed), served by any
 * `NodeApi` implementation. See api.ts for the contract, handler.ts for the request listener, server.ts for a
 * ready-made `http.Server` with timeouts.
 */
export type {
  Access,
  CallOptions,
  ClusterConfigInfo,
  ClusterEventEntry,
  ClusterView,
  ConsensusStatus,
  CustomDataItem,
  DeleteCustomDataOutcome,
  DeleteCustomDataRequest,
  EventFeed,
  EventPage,
  EventSubscriber,
  HealthCheckResult,
  HealthInfo,
  JoinOutcome,
  JoinRelay,
  JoinRequest,
  LeaderInfo,
  NodeApi,
  NodeHealthStatus,
  NodeInfo,
  NodeRaftRole,
  RebalanceOutcome,
  RebalanceRequest,
  RemoveNodeOutcome,
  RemoveNodeRequest,
  SelfInfo,
  SetCustomDataOutcome,
  SetCustomDataRequest,
} from './api.js';
export { HttpError, type HttpErrorCode, statusForCode } from './errors.js';
export {
  type AuthDecision,
  type Authorize,
  createHttpHandler,
  DEFAULT_BODY_TIMEOUT_MS,
  DEFAULT_MAX_JSON_BYTES,
  DEFAULT_MAX_KEY_LENGTH,
  DEFAULT_MAX_VALUE_BYTES,
  DEFAULT_OPERATION_TIMEOUT_MS,
  type HttpHandler,
  type HttpHandlerOptions,
} from './handler.js';
export type { HttpStats } from './route.js';
export {
  type ClusterKitHttpServer,
  createHttpServer,
  DEFAULT_HEADERS_TIMEOUT_MS,
  DEFAULT_KEEP_ALIVE_TIMEOUT_MS,
  DEFAULT_MAX_HEADER_SIZE,
  DEFAULT_REQUEST_TIMEOUT_MS,
  type HttpServerOptions,
} from './server.js';
