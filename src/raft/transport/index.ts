/** The Raft TCP transport: binary codecs, framing, TcpTransport and the port-sharing listener. */
export {
  decodeMessage,
  encodeFrame,
  encodeMessage,
  MAX_PROTOCOL_VERSION,
  MIN_PROTOCOL_VERSION,
  messageSize,
  PROTOCOL_VERSION,
} from './codec/index.js';
export { DEFAULT_MAX_FRAME_BYTES, FrameReader, RAFT_PREAMBLE } from './frame.js';
export {
  DEFAULT_SNIFF_TIMEOUT_MS,
  listenShared,
  type RaftConnectionHandler,
  SharedListener,
  type SharedListenerOptions,
  type SharedListenerStats,
} from './listener.js';
export type {
  AuthConnection,
  PeerStats,
  RaftAuthenticator,
  TcpTransportOptions,
  TcpTransportStats,
  TransportTls,
} from './options.js';
export { TcpTransport } from './tcp.js';
