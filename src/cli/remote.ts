/**
 * Shared by the commands that talk to a node: the client from the connection flags and the environment, and
 * positional-argument checks with one-line usage errors.
 */
import { InvalidArgumentError } from '../errors.js';
import { NodeClient } from './client.js';
import { type ConnectionFlags, resolveConnection } from './connection.js';
import type { Output } from './output.js';

export function connect(flags: ConnectionFlags, out: Output): NodeClient {
  return new NodeClient(resolveConnection(flags, out.io.env, out.io.readFile));
}

/** Checks the number of positionals; `names` are their names for the message (`<key>`, `<value>`). */
export function positionals(command: string, got: readonly string[], names: readonly string[], optional = 0): void {
  const min = names.length - optional;
  if (got.length < min || got.length > names.length) {
    const usage = names.map((n, i) => (i >= min ? `[${n}]` : n)).join(' ');
    const what =
      got.length < min ? `missing ${names[got.length]}` : `unexpected argument ${JSON.stringify(got[names.length])}`;
    throw new InvalidArgumentError(`${what}; usage: clusterkit ${command} ${usage} (see --help)`);
  }
}

/** The path segment of a custom data key or node id (a `/` in it is sent as %2F). */
export function segment(value: string): string {
  return encodeURIComponent(value);
}
