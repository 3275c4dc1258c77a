/**
 * Transport benchmark: codec throughput and loopback round trips.
 *
 *   npx tsx bench/transport.bench.ts
 *
 * 1. Codec: encode + decode of AppendEntries with 64 entries of 200 B, and of a heartbeat (no entries).
 * 2. Round trips between two TcpTransports over 127.0.0.1, the responder in a child process (as a real peer
 *    would be): an AppendEntries carrying one 200 B entry, answered by an AppendEntriesResponse that echoes
 *    `round` (the correlation id). Serial (1 in flight) and 64 in flight on the one connection.
 * Compare with /work/shared/reference/ecosystem.md §2 (same machine).
 */
import { fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { decodeMessage, encodeMessage } from '../src/raft/transport/codec/index.js';
import { TcpTransport } from '../src/raft/transport/tcp.js';
import { type AppendEntries, type Entry, EntryType, type Message, MessageType } from '../src/raft/types.js';

const CLUSTER = 'bench';

function appendEntries(n: number, size: number, round = 0): AppendEntries {
  const entries: Entry[] = [];
  for (let i = 0; i < n; i++) {
    entries.push({ index: 1000 + i, term: 7, type: EntryType.Command, data: new Uint8Array(size).fill(i) });
  }
  return {
    type: MessageType.AppendEntries,
    from: 'client',
    to: 'server',
    term: 7,
    prevIndex: 999,
    prevTerm: 7,
    commit: 990,
    round,
    entries,
  };
}

interface Codec {
  encode(msg: Message): Uint8Array;
  decode(bytes: Uint8Array): Message;
}

const binary: Codec = { encode: encodeMessage, decode: decodeMessage };

/** Baseline for scale (ecosystem.md §2.2 "JSON, data as base64"): same messages, as they would go on the wire. */
const jsonBase64: Codec = {
  encode: (msg) =>
    Buffer.from(
      JSON.stringify(msg, (_k, v: unknown) => (v instanceof Uint8Array ? Buffer.from(v).toString('base64') : v)),
    ),
  decode: (bytes) => {
    const m = JSON.parse(Buffer.from(bytes).toString('utf8')) as Message;
    if (m.type === MessageType.AppendEntries) {
      for (const e of m.entries) (e as { data: Uint8Array }).data = Buffer.from(e.data as unknown as string, 'base64');
    }
    return m;
  },
};

function benchCodec(name: string, codec: Codec, msg: Message, minMs = 1500): void {
  const bytes = codec.encode(msg).length;
  // Warm up, then run whole batches until the time is up.
  for (let i = 0; i < 2000; i++) codec.decode(codec.encode(msg));
  let ops = 0;
  let sink = 0;
  const t0 = performance.now();
  let elapsed: number;
  do {
    for (let i = 0; i < 1000; i++) {
      const m = codec.decode(codec.encode(msg));
      sink += m.term;
    }
    ops += 1000;
    elapsed = performance.now() - t0;
  } while (elapsed < minMs);
  if (sink === -1) console.log(sink);
  const rate = (ops / elapsed) * 1000;
  console.log(`  ${name.padEnd(44)} ${fmt(rate).padStart(10)} ops/s   ${bytes} B on the wire`);
}

function fmt(n: number): string {
  return Math.round(n).toLocaleString('en-US');
}

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))] ?? Number.NaN;
}

// --- responder (child process) ---------------------------------------------------------------------------------

async function runServer(): Promise<void> {
  const t = new TcpTransport({ nodeId: 'server', clusterName: CLUSTER });
  t.onMessage((msg) => {
    if (msg.type !== MessageType.AppendEntries) return;
    t.send('127.0.0.1:1', {
      type: MessageType.AppendEntriesResponse,
      from: 'server',
      to: msg.from,
      term: msg.term,
      success: true,
      matchIndex: msg.prevIndex + msg.entries.length,
      conflictTerm: 0,
      conflictIndex: 0,
      round: msg.round,
    });
  });
  const port = await t.listen({ host: '127.0.0.1', port: 0 });
  process.send?.({ port });
  process.on('message', (m) => {
    if (m === 'stop') void t.close().then(() => process.exit(0));
  });
}

// --- requester -------------------------------------------------------------------------------------------------

async function roundTrips(port: number): Promise<void> {
  const t = new TcpTransport({ nodeId: 'client', clusterName: CLUSTER });
  const addr = `127.0.0.1:${port}`;
  const waiting = new Map<number, () => void>();
  t.onMessage((msg) => {
    if (msg.type !== MessageType.AppendEntriesResponse) return;
    const done = waiting.get(msg.round);
    waiting.delete(msg.round);
    done?.();
  });
  let nextRound = 1;
  const template = appendEntries(1, 200);
  const call = (): Promise<number> => {
    const round = nextRound++;
    const t0 = performance.now();
    return new Promise((resolve) => {
      waiting.set(round, () => resolve(performance.now() - t0));
      t.send(addr, { ...template, round });
    });
  };

  for (const [inFlight, total] of [
    [1, 10_000],
    [64, 100_000],
    [1, 10_000],
    [64, 100_000],
  ] as const) {
    for (let i = 0; i < 1000; i++) await call(); // warm-up, and the connection is up
    const latencies: number[] = [];
    let issued = 0;
    const t0 = performance.now();
    const worker = async (): Promise<void> => {
      while (issued < total) {
        issued++;
        latencies.push(await call());
      }
    };
    await Promise.all(Array.from({ length: inFlight }, worker));
    const elapsed = performance.now() - t0;
    latencies.sort((a, b) => a - b);
    console.log(
      `  ${`${inFlight} in flight, ${fmt(total)} calls`.padEnd(40)} ${fmt((total / elapsed) * 1000).padStart(10)} rt/s` +
        `   p50 ${percentile(latencies, 0.5).toFixed(3)} ms   p99 ${percentile(latencies, 0.99).toFixed(3)} ms`,
    );
  }
  const s = t.stats();
  console.log(
    `  client counters: ${fmt(s.framesSent)} frames / ${fmt(s.bytesSent)} B sent, ${fmt(s.framesReceived)} received, ` +
      `${s.dropped} dropped, ${s.openConnections} connection(s)`,
  );
  await t.close();
}

async function main(): Promise<void> {
  if (process.argv.includes('--server')) {
    await runServer();
    return;
  }
  console.log(`transport benchmark — node ${process.version}, ${process.platform}/${process.arch}\n`);
  console.log('codec (encode + decode, single thread):');
  for (let run = 1; run <= 2; run++) {
    benchCodec(`binary: AppendEntries 64 × 200 B (run ${run})`, binary, appendEntries(64, 200));
    benchCodec(`binary: heartbeat, 0 entries (run ${run})`, binary, appendEntries(0, 0));
  }
  benchCodec('JSON+base64: AppendEntries 64 × 200 B', jsonBase64, appendEntries(64, 200), 1000);
  benchCodec('JSON+base64: heartbeat, 0 entries', jsonBase64, appendEntries(0, 0), 1000);

  console.log('\nround trips over 127.0.0.1 (responder in a child process):');
  // The child inherits this process's execArgv, so it runs under tsx as well.
  const child = fork(fileURLToPath(import.meta.url), ['--server'], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  const port = await new Promise<number>((resolve, reject) => {
    child.once('message', (m) => resolve((m as { port: number }).port));
    child.once('exit', (code) => reject(new Error(`responder exited with ${code}`)));
  });
  try {
    await roundTrips(port);
  } finally {
    child.send('stop');
    await new Promise((r) => child.once('exit', r));
  }
}

await main();
