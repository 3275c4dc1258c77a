/**
 * Plumbing for the event, locate and dashboard endpoint tests: synthetic events, a FakeNode with a real EventLog,
 * a server around it (with an optional manual scheduler), and a small server-sent events client.
 */
import http from 'node:http';
import { EventLog } from '../../src/cluster/event-log.js';
import type { PublicEvent } from '../../src/cluster/events.js';
import type { NodeRecord } from '../../src/cluster/state/index.js';
import type { EventFeed } from '../../src/http/api.js';
import type { Scheduler, TimerHandle } from '../../src/util/io.js';
import { FakeNode } from './fake.js';
import { type Running, startServerWith } from './helpers.js';

export function nodeRecord(id: string): NodeRecord {
  return Object.freeze({
    id,
    name: id,
    httpAddr: '127.0.0.1:7001',
    raftAddr: '127.0.0.1:7001',
    weight: 1,
    services: {},
    incarnation: `inc-${id}`,
    joinedAt: 1_700_000_000_000,
    updatedAt: 1_700_000_000_000,
  });
}

/** A synthetic event of `type` (only the fields the log and the HTTP layer look at are meaningful). */
export function fakeEvent(type: string, index: number, extra: Record<string, unknown> = {}): PublicEvent {
  return { type, index, timestamp: 1_700_000_000_000 + index, node: nodeRecord(`node-${index}`), ...extra } as never;
}

export class FakeWithEvents extends FakeNode {
  log = new EventLog({ logId: 'abc1', majorCapacity: 50, detailCapacity: 50 });

  events(): EventFeed {
    return this.log;
  }
}

/** A scheduler whose timers run only when the test says so. */
export class ManualScheduler implements Scheduler {
  readonly timers = new Set<{ fn: () => void; ms: number }>();

  setTimeout(fn: () => void, ms: number): TimerHandle {
    const t = { fn, ms };
    this.timers.add(t);
    return { cancel: () => this.timers.delete(t) };
  }

  /** Runs (once) every pending timer of exactly `ms`. */
  fire(ms: number): number {
    const due = [...this.timers].filter((t) => t.ms === ms);
    for (const t of due) {
      this.timers.delete(t);
      t.fn();
    }
    return due.length;
  }
}

export type EventServer<F extends FakeNode = FakeWithEvents> = Running<F>;

export const startEventServer = startServerWith;

export interface SseMessage {
  readonly event: string;
  readonly id: string | undefined;
  readonly retry: number | undefined;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- arbitrary event JSON, read by property path
  readonly data: any;
}

/** A server-sent events client on one connection: parsed messages, comments, and when the stream ended. */
export interface SseClient {
  readonly status: number;
  readonly headers: http.IncomingHttpHeaders;
  readonly messages: SseMessage[];
  readonly comments: string[];
  readonly res: http.IncomingMessage;
  readonly ended: Promise<void>;
  /** Resolves once `n` messages have arrived. */
  waitForMessages(n: number, timeoutMs?: number): Promise<SseMessage[]>;
  close(): void;
}

export function openSse(port: number, path: string, headers: Record<string, string> = {}): Promise<SseClient> {
  return new Promise((resolve, reject) => {
    const req = http.get({ host: '127.0.0.1', port, path, headers, agent: false }, (res) => {
      const messages: SseMessage[] = [];
      const comments: string[] = [];
      let waiters: (() => void)[] = [];
      let buf = '';
      res.setEncoding('utf8');
      const ended = new Promise<void>((done) => res.once('close', () => done()));
      res.on('data', (chunk: string) => {
        buf += chunk;
        for (let at = buf.indexOf('\n\n'); at >= 0; at = buf.indexOf('\n\n')) {
          const block = buf.slice(0, at);
          buf = buf.slice(at + 2);
          let event = 'message';
          let id: string | undefined;
          let retry: number | undefined;
          let data: string | undefined;
          for (const line of block.split('\n')) {
            if (line.startsWith(':')) comments.push(line.slice(1).trim());
            else if (line.startsWith('event: ')) event = line.slice(7);
            else if (line.startsWith('id: ')) id = line.slice(4);
            else if (line.startsWith('retry: ')) retry = Number(line.slice(7));
            else if (line.startsWith('data: ')) data = line.slice(6);
          }
          if (data !== undefined) messages.push({ event, id, retry, data: JSON.parse(data) });
        }
        const w = waiters;
        waiters = [];
        for (const f of w) f();
      });
      res.on('error', () => undefined); // a destroyed stream is an expected outcome in these tests
      resolve({
        status: res.statusCode ?? 0,
        headers: res.headers,
        messages,
        comments,
        res,
        ended,
        waitForMessages: async (n, timeoutMs = 5000) => {
          const deadline = performance.now() + timeoutMs;
          while (messages.length < n) {
            if (performance.now() > deadline) {
              throw new Error(`timed out waiting for ${n} SSE messages (got ${messages.length})`);
            }
            await new Promise<void>((r) => {
              const timer = setTimeout(r, 100);
              waiters.push(() => {
                clearTimeout(timer);
                r();
              });
            });
          }
          return messages;
        },
        close: () => req.destroy(),
      });
    });
    req.on('error', reject);
  });
}
