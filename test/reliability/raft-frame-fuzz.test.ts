/**
 * Hostile Raft traffic against a live ClusterKit node, on its shared HTTP/Raft port: broken framing (truncated
 * frames, oversized or undersized length prefixes, unknown frame and message types, bad versions, random bytes)
 * before and after a valid handshake, and well-formed frames with absurd fields (terms from the future, indexes far
 * past the log, garbage commands). Each hostile connection is dropped by the node (a frame that cannot be trusted
 * ends it), and after every round the node is still the leader of its one-node cluster, at the same term unless
 * the Raft rules say a frame may move it (then it re-elects itself), and still commits writes.
 *
 * Only `connectRaft` knows how a connection opens (preamble, handshake): when the handshake gains
 * authentication, that is the one place to change.
 */
import net from 'node:net';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ClusterKit } from '../../src/cluster/index.js';
import { DEFAULT_CLUSTER_NAME } from '../../src/cluster/options.js';
import {
  decodeHelloAck,
  encodeHello,
  type Hello,
  type HelloAck,
  HelloStatus,
} from '../../src/raft/transport/codec/handshake.js';
import { encodeFrame, MAX_PROTOCOL_VERSION, MIN_PROTOCOL_VERSION } from '../../src/raft/transport/codec/index.js';
import { FrameReader, RAFT_PREAMBLE } from '../../src/raft/transport/frame.js';
import { EntryType, type Message, MessageType } from '../../src/raft/types.js';
import { TestNodes, until } from '../cluster/node/helpers.js';

const SEED = Number(process.env.CK_FUZZ_SEED ?? 0x5eed_f4a3);
/** Generous: the machine may be loaded; the default handshake deadline of a node is 5 s. */
const CLOSE_WITHIN_MS = 20_000;

/** A raw connection to a node's Raft transport, as a hostile peer sees it. */
interface RawPeer {
  readonly socket: net.Socket;
  /** Resolves when the node (or we) closed the connection. */
  readonly closed: Promise<void>;
  /** The handshake answer, when `connectRaft` was asked to perform one. */
  readonly ack: HelloAck | undefined;
  /** Frames the node sent after the handshake. */
  readonly frames: Buffer[];
  send(bytes: Uint8Array): void;
}

/**
 * Connects to the node at `port` and opens a Raft connection: the preamble, then with `hello` a handshake as node
 * `hello.nodeId` (answered with a HelloAck, awaited here). Without `hello` the caller speaks right after the
 * preamble. The only function that knows how a connection opens.
 */
async function connectRaft(port: number, hello?: Partial<Hello>): Promise<RawPeer> {
  const socket = net.connect({ host: '127.0.0.1', port });
  socket.on('error', () => undefined); // resets by the node are expected; 'close' follows
  const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()));
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', resolve);
    socket.once('error', reject);
  });
  const frames: Buffer[] = [];
  const reader = new FrameReader();
  let onFrame: ((f: Buffer) => void) | undefined;
  socket.on('data', (chunk: Buffer) => {
    try {
      reader.push(chunk, (f) => (onFrame === undefined ? frames.push(Buffer.from(f)) : onFrame(Buffer.from(f))));
    } catch {
      socket.destroy();
    }
  });
  socket.write(RAFT_PREAMBLE);
  let ack: HelloAck | undefined;
  if (hello !== undefined) {
    const answered = new Promise<Buffer>((resolve, reject) => {
      onFrame = resolve;
      void closed.then(() => reject(new Error('the node closed the connection during the handshake')));
    });
    socket.write(encodeHello(helloFor(hello), MAX_PROTOCOL_VERSION));
    ack = decodeHelloAck(await answered);
    onFrame = undefined;
  }
  return { socket, closed, ack, frames, send: (bytes) => socket.write(bytes) };
}

function helloFor(h: Partial<Hello>): Hello {
  return {
    minVersion: MIN_PROTOCOL_VERSION,
    maxVersion: MAX_PROTOCOL_VERSION,
    clusterName: DEFAULT_CLUSTER_NAME,
    nodeId: 'intruder',
    // A port nothing listens on: if the node ever dials us back, it fails at once.
    addr: '127.0.0.1:1',
    expectedPeerId: '',
    incarnation: 1,
    auth: new Uint8Array(0),
    ...h,
  };
}

/** A length-prefixed frame around arbitrary payload bytes. */
function frame(payload: Uint8Array): Buffer {
  const b = Buffer.alloc(4 + payload.length);
  b.writeUInt32BE(payload.length, 0);
  b.set(payload, 4);
  return b;
}

function prefix(length: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(length, 0);
  return b;
}

async function closedWithin(peer: RawPeer, what: string, ms = CLOSE_WITHIN_MS): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`the node did not drop the connection (${what}) within ${ms} ms`)), ms);
  });
  try {
    await Promise.race([peer.closed, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

let nodes: TestNodes;
let ck: ClusterKit;
let port = 0;
let writes = 0;

/** The node leads, at `term` when given, and commits a write. Returns its term. */
async function healthy(term?: number): Promise<number> {
  await until(() => ck.getMetrics().isLeader, 15_000, 'the node to lead again');
  const m = ck.getMetrics();
  if (term !== undefined) expect(m.term).toBe(term);
  const key = `probe-${writes++}`;
  await ck.setCustomData(key, 'still serving');
  expect(Buffer.from(ck.getCustomData(key)!).toString()).toBe('still serving');
  expect(ck.healthCheck().live).toBe(true);
  return ck.getMetrics().term;
}

function msg(fields: Record<string, unknown> & { type: MessageType }): Message {
  return { from: 'intruder', to: 'node-1', term: ck.getMetrics().term, ...fields } as unknown as Message;
}

beforeAll(async () => {
  nodes = new TestNodes();
  ck = await nodes.start('node-1');
  port = Number(ck.address.slice(ck.address.lastIndexOf(':') + 1));
  await healthy();
});
afterAll(async () => {
  await nodes.destroy();
});

describe('Raft framing attacks on a live node', () => {
  it('drops connections that break the framing or the handshake, and keeps leading at the same term', async () => {
    const term = ck.getMetrics().term;
    const attacks: [string, Uint8Array, boolean][] = [
      // [what, bytes after the preamble, whether to half-close after sending]
      ['a length prefix of 4 GiB', prefix(0xffff_ffff), false],
      ['a length prefix just over 64 MiB', prefix(64 * 1024 * 1024 + 1), false],
      ['a length prefix of 0', prefix(0), false],
      ['a length prefix of 1', frame(Buffer.from([1])), false],
      ['an unknown frame type instead of Hello', frame(Buffer.from([1, 0x99, 0, 0])), false],
      ['a Raft message instead of Hello', encodeFrame(msg({ type: MessageType.TimeoutNow })), false],
      ['a Hello of protocol version 0', frame(Buffer.from([0, 0x41, 9, 9])), false],
      ['a Hello cut short', frame(encodeHello(helloFor({}), 1).subarray(4, 20)), false],
      [
        'a Hello with trailing bytes',
        frame(Buffer.concat([encodeHello(helloFor({}), 1).subarray(4), Buffer.from([0])])),
        false,
      ],
      ['a frame cut short, then FIN', Buffer.concat([prefix(100), Buffer.alloc(10)]), true],
      // Nothing more ever comes: the handshake deadline (5 s) ends it.
      ['a frame cut short, then silence', Buffer.concat([prefix(100), Buffer.alloc(10)]), false],
      ['a lone preamble, then silence', Buffer.alloc(0), false],
    ];
    const peers = await Promise.all(
      attacks.map(async ([what, bytes, fin]) => {
        const p = await connectRaft(port);
        p.send(bytes);
        if (fin) p.socket.end();
        return { what, p };
      }),
    );
    await Promise.all(peers.map(({ what, p }) => closedWithin(p, what)));
    await healthy(term);
  });

  it('refuses handshakes for another cluster, an empty version range or its own id, with a HelloAck, then closes', async () => {
    const term = ck.getMetrics().term;
    const cases: [Partial<Hello>, HelloStatus][] = [
      [{ clusterName: 'someone-else' }, HelloStatus.ClusterMismatch],
      [{ minVersion: 9, maxVersion: 9 }, HelloStatus.VersionUnsupported],
      [{ nodeId: 'node-1' }, HelloStatus.WrongNode],
      [{ expectedPeerId: 'node-7' }, HelloStatus.WrongNode],
    ];
    for (const [hello, status] of cases) {
      const p = await connectRaft(port, hello);
      expect(p.ack?.status).toBe(status);
      await closedWithin(p, JSON.stringify(hello));
    }
    await healthy(term);
  });

  it('drops a handshaken connection at its first broken frame', async () => {
    const term = ck.getMetrics().term;
    const attacks: [string, Uint8Array][] = [
      ['a length prefix of 4 GiB', prefix(0xffff_ffff)],
      ['a length prefix of 1', frame(Buffer.from([1]))],
      ['an unknown message type', frame(Buffer.from([1, 200, 0, 0]))],
      ['message type 0', frame(Buffer.from([1, 0, 0, 0]))],
      ['an unsupported message version', frame(Buffer.from([7, 1, 0, 0]))],
      ['a second Hello', encodeHello(helloFor({}), 1)],
      [
        'a message with trailing bytes',
        frame(
          Buffer.concat([encodeFrame(msg({ type: MessageType.TimeoutNow, term: 0 })).subarray(4), Buffer.from([0])]),
        ),
      ],
      ['an AppendEntries cut short', frame(encodeFrame(msg(heartbeat(0))).subarray(4, 30))],
      ['an entry of an unknown type', withEntryType(9)],
    ];
    for (const [what, bytes] of attacks) {
      const p = await connectRaft(port, {});
      expect(p.ack?.status).toBe(HelloStatus.Ok);
      p.send(bytes);
      await closedWithin(p, what);
    }
    await healthy(term);
  });

  it('survives random bytes after the preamble and after a handshake (property)', async () => {
    const term = ck.getMetrics().term;
    await fc.assert(
      fc.asyncProperty(fc.boolean(), fc.uint8Array({ minLength: 1, maxLength: 300 }), async (handshake, bytes) => {
        const p = await connectRaft(port, handshake ? {} : undefined);
        p.send(bytes);
        // Random bytes may form the start of a plausible frame that waits for more: end our side too.
        p.socket.end();
        await closedWithin(p, 'random bytes');
      }),
      { seed: SEED, numRuns: 60 },
    );
    await healthy(term);
  });
});

function heartbeat(
  prevIndex: number,
  fields: Record<string, unknown> = {},
): Record<string, unknown> & {
  type: MessageType;
} {
  return {
    type: MessageType.AppendEntries,
    prevIndex,
    prevTerm: prevIndex === 0 ? 0 : 1,
    entries: [],
    commit: 0,
    round: 0,
    ...fields,
  };
}

/** A well-formed AppendEntries frame whose one entry has wire type `t`. */
function withEntryType(t: number): Buffer {
  const f = encodeFrame(
    msg({
      ...heartbeat(0),
      term: 0,
      entries: [{ index: 1, term: 0, type: EntryType.Command, data: new Uint8Array([0xee]) }],
    }),
  );
  // The entry type byte sits just before the entry's u32 data length and its one data byte.
  f[f.length - 6] = t;
  return f;
}

describe('well-formed frames with absurd fields', () => {
  it('ignores stale-term messages pointing far past the log', async () => {
    const term = ck.getMetrics().term;
    const p = await connectRaft(port, {});
    const stale = Math.max(0, term - 1);
    p.send(encodeFrame(msg({ ...heartbeat(2 ** 50, { commit: 2 ** 50 }), term: stale, prevTerm: stale })));
    p.send(
      encodeFrame(
        msg({
          type: MessageType.RequestVote,
          term: stale,
          lastIndex: 2 ** 52,
          lastTerm: stale,
          preVote: false,
          transfer: false,
        }),
      ),
    );
    p.send(
      encodeFrame(
        msg({
          type: MessageType.InstallSnapshot,
          term: stale,
          meta: { index: 2 ** 50, term: stale, size: 3, config: { members: [] } },
          offset: 0,
          chunk: new Uint8Array([1, 2, 3]),
          done: true,
        }),
      ),
    );
    p.send(
      encodeFrame(
        msg({
          type: MessageType.AppendEntriesResponse,
          term: stale,
          success: true,
          matchIndex: 2 ** 52,
          conflictTerm: 0,
          conflictIndex: 0,
          round: 2 ** 40,
        }),
      ),
    );
    await healthy(term);
    p.socket.destroy();
  });

  it('keeps leading through a vote request from the future (leader stickiness)', async () => {
    const term = ck.getMetrics().term;
    const p = await connectRaft(port, {});
    p.send(
      encodeFrame(
        msg({
          type: MessageType.RequestVote,
          term: term + 1_000_000,
          lastIndex: 2 ** 50,
          lastTerm: term + 1_000_000,
          preVote: false,
          transfer: false,
        }),
      ),
    );
    p.send(
      encodeFrame(
        msg({
          type: MessageType.RequestVote,
          term: term + 1_000_000,
          lastIndex: 2 ** 50,
          lastTerm: term,
          preVote: true,
          transfer: false,
        }),
      ),
    );
    await healthy(term);
    p.socket.destroy();
  });

  it('applies garbage commands forwarded by a stranger as refusals, without breaking its state machine', async () => {
    const term = ck.getMetrics().term;
    const applied = ck.getMetrics().appliedIndex;
    const p = await connectRaft(port, {});
    const garbage = [
      new Uint8Array(0),
      new Uint8Array([0xff, 0x00, 0x13]),
      new TextEncoder().encode('{"type":"nope"}'),
    ];
    p.send(encodeFrame(msg({ type: MessageType.ForwardPropose, requestId: 1, commands: garbage })));
    p.send(encodeFrame(msg({ type: MessageType.ReadIndexRequest, requestId: 2 ** 50 })));
    // Without authentication a leader cannot tell a stranger from a follower: the commands are appended, and the
    // state machine refuses them one by one.
    await until(() => ck.getMetrics().appliedIndex >= applied + garbage.length, 10_000, 'the garbage to be applied');
    const keys = ck.listCustomDataKeys();
    await healthy(term);
    expect(ck.listCustomDataKeys()).toEqual([...keys, `probe-${writes - 1}`].sort());
    p.socket.destroy();
  });

  it('follows a heartbeat from a higher term (Raft), then elects itself again and serves writes', async () => {
    const term = ck.getMetrics().term;
    const p = await connectRaft(port, {});
    const future = term + 1_000_000;
    // The sender of a higher term is a new leader as far as Raft can tell: the node steps down and, hearing no
    // more from it, campaigns again. (Only authentication keeps strangers from doing this.)
    p.send(encodeFrame(msg({ ...heartbeat(2 ** 50, { commit: 2 ** 50 }), term: future, prevTerm: future })));
    p.socket.destroy();
    await until(() => ck.getMetrics().term >= future, 10_000, 'the node to adopt the new term');
    expect(await healthy()).toBeGreaterThan(future);
  });

  it('drops a connection that sends a term at the end of the number range, which would leave no term to elect in', async () => {
    // Regression: a term of 2^53 - 1 was accepted; the node adopted it, could not store the next term, and went
    // down. Terms this far out cannot come from a real cluster; the codec refuses them as malformed.
    const term = ck.getMetrics().term;
    for (const t of [Number.MAX_SAFE_INTEGER, 2 ** 52, 2 ** 49]) {
      const p = await connectRaft(port, {});
      p.send(encodeFrame(msg({ ...heartbeat(0), term: t })));
      await closedWithin(p, `term ${t}`);
    }
    const p = await connectRaft(port, {});
    p.send(
      encodeFrame(
        msg({
          type: MessageType.RequestVote,
          term: Number.MAX_SAFE_INTEGER,
          lastIndex: 1,
          lastTerm: 1,
          preVote: false,
          transfer: true,
        }),
      ),
    );
    await closedWithin(p, 'a vote request at term 2^53 - 1');
    await healthy(term);
  });
});
