/** Outbound sockets and the address format peers are dialled by. */
import net from 'node:net';

export interface DialTarget {
  readonly host: string;
  readonly port: number;
}

/** Opens a plain TCP connection. */
export function dialTcp(target: DialTarget): net.Socket {
  return net.connect({ host: target.host, port: target.port, noDelay: true });
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
