/** Outbound sockets and the address format peers are dialled by. */
import net from 'node:net';
import tls from 'node:tls';
import type { TransportTls } from './options.js';

export interface DialTarget {
  readonly host: string;
  readonly port: number;
}

/** Opens a plain TCP connection. */
export function dialTcp(target: DialTarget): net.Socket {
  return net.connect({ host: target.host, port: target.port, noDelay: true });
}

/**
 * Opens a TLS connection presenting this node's certificate and verifying the peer's against the CA. Wait for
 * 'secureConnect' (not 'connect') before using it: the TLS exporter (channel binding) needs the handshake done.
 */
export function dialTls(target: DialTarget, options: TransportTls): tls.TLSSocket {
  return tls.connect({
    host: target.host,
    port: target.port,
    secureContext: options.clientContext(),
    // SNI only for names: an IP address is not a valid server name.
    ...(net.isIP(target.host) === 0 ? { servername: target.host } : {}),
    ...(options.verifyHostname === false ? { checkServerIdentity: () => undefined } : {}),
  });
}

/** Parses "host:port" or "[v6]:port". Returns null when `addr` is not of that form. */
export function parseAddr(addr: string): DialTarget | null {
  const m = /^(?:\[([^\]]+)\]|([^:[\]]+)):(\d{1,5})$/.exec(addr);
  if (m === null) return null;
  const port = Number(m[3]);
  if (port < 1 || port > 65535) return null;
  const host = m[1] ?? m[2];
  return host === undefined ? null : { host, port };
}
