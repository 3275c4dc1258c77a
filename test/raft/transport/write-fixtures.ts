/**
 * Writes the golden fixtures in test/fixtures/raft-messages/. Run it ONLY when the wire format changes on
 * purpose (and bump PROTOCOL_VERSION then):
 *
 *   npx tsx test/raft/transport/write-fixtures.ts
 *
 * The golden test never writes: it checks that today's codec still produces and accepts exactly these bytes.
 */
import { writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import {
  encodeHello,
  encodeHelloAck,
  type Hello,
  type HelloAck,
  HelloStatus,
} from '../../../src/raft/transport/codec/handshake.js';
import { encodeMessage, PROTOCOL_VERSION } from '../../../src/raft/transport/codec/index.js';
import { EntryType, type Message, MessageType } from '../../../src/raft/types.js';
import { sampleMessages, toHex, toJsonValue } from './messages.js';

const dir = fileURLToPath(new URL('../../fixtures/raft-messages/', import.meta.url));
const utf8 = (s: string): Uint8Array => new TextEncoder().encode(s);
const MAX = Number.MAX_SAFE_INTEGER;

type Case = { name: string; message: Message };

const samples = sampleMessages('n1', 'n2');
const sample = (t: MessageType): Message => samples.find((m) => m.type === t)!;

const cases: Record<string, Case[]> = {
  'append-entries': [
    {
      name: 'heartbeat',
      message: {
        type: MessageType.AppendEntries,
        from: 'n1',
        to: 'n2',
        term: 3,
        prevIndex: 10,
        prevTerm: 3,
        commit: 10,
        round: 12,
        entries: [],
      },
    },
    { name: 'noop and command', message: sample(MessageType.AppendEntries) },
    {
      name: 'config entry at the largest safe index',
      message: {
        type: MessageType.AppendEntries,
        from: 'nœud-α',
        to: 'n2',
        fromAddr: '[::1]:7000',
        term: MAX,
        prevIndex: MAX - 1,
        prevTerm: 2 ** 32,
        commit: 2 ** 32 - 1,
        round: 0,
        entries: [{ index: MAX, term: MAX, type: EntryType.Config, data: new Uint8Array([0, 1, 2, 255]) }],
      },
    },
  ],
  'append-entries-response': [
    {
      name: 'success',
      message: {
        type: MessageType.AppendEntriesResponse,
        from: 'n2',
        to: 'n1',
        term: 3,
        success: true,
        matchIndex: 12,
        conflictTerm: 0,
        conflictIndex: 0,
        round: 12,
      },
    },
    { name: 'rejection with conflict hint', message: sample(MessageType.AppendEntriesResponse) },
  ],
  'request-vote': [
    {
      name: 'vote',
      message: {
        type: MessageType.RequestVote,
        from: 'n3',
        to: 'n1',
        term: 4,
        lastIndex: 20,
        lastTerm: 3,
        preVote: false,
        transfer: false,
      },
    },
    { name: 'pre-vote', message: sample(MessageType.RequestVote) },
    {
      name: 'transfer',
      message: {
        type: MessageType.RequestVote,
        from: 'n3',
        to: 'n1',
        term: 5,
        lastIndex: 20,
        lastTerm: 3,
        preVote: false,
        transfer: true,
      },
    },
  ],
  'request-vote-response': [
    { name: 'pre-vote granted', message: sample(MessageType.RequestVoteResponse) },
    {
      name: 'denied',
      message: { type: MessageType.RequestVoteResponse, from: 'n1', to: 'n3', term: 5, granted: false, preVote: false },
    },
  ],
  'install-snapshot': [
    { name: 'single chunk with a two-member config', message: sample(MessageType.InstallSnapshot) },
    {
      name: 'middle chunk, empty config',
      message: {
        type: MessageType.InstallSnapshot,
        from: 'n1',
        to: 'n2',
        term: 9,
        meta: { index: 5000, term: 9, size: 1 << 20, config: { members: [] } },
        offset: 512 * 1024,
        chunk: new Uint8Array([0xde, 0xad, 0xbe, 0xef]),
        done: false,
      },
    },
  ],
  'install-snapshot-response': [
    { name: 'rejected (received -1)', message: sample(MessageType.InstallSnapshotResponse) },
    {
      name: 'progress',
      message: {
        type: MessageType.InstallSnapshotResponse,
        from: 'n2',
        to: 'n1',
        term: 9,
        index: 5000,
        received: 1 << 20,
        done: true,
      },
    },
  ],
  'timeout-now': [{ name: 'transfer to n2', message: sample(MessageType.TimeoutNow) }],
  'forward-propose': [
    { name: 'two commands, one empty', message: sample(MessageType.ForwardPropose) },
    {
      name: 'no commands',
      message: { type: MessageType.ForwardPropose, from: 'n2', to: 'n1', term: 1, requestId: MAX, commands: [] },
    },
  ],
  'forward-propose-response': [
    { name: 'not leader', message: sample(MessageType.ForwardProposeResponse) },
    {
      name: 'appended',
      message: {
        type: MessageType.ForwardProposeResponse,
        from: 'n1',
        to: 'n2',
        term: 9,
        requestId: 17,
        index: 120,
        entryTerm: 9,
        error: '',
        leaderId: '',
      },
    },
  ],
  'read-index-request': [{ name: 'request 18', message: sample(MessageType.ReadIndexRequest) }],
  'read-index-response': [
    { name: 'confirmed', message: sample(MessageType.ReadIndexResponse) },
    {
      name: 'error',
      message: {
        type: MessageType.ReadIndexResponse,
        from: 'n1',
        to: 'n2',
        term: 9,
        requestId: 18,
        index: 0,
        error: 'ERR_NOT_LEADER',
        leaderId: 'n3',
      },
    },
  ],
};

for (const [file, list] of Object.entries(cases)) {
  const json = {
    description: `Golden encodings of ${MessageType[list[0]!.message.type]} (protocol version ${PROTOCOL_VERSION}): frame payload without the u32 length prefix.`,
    cases: list.map((c) => ({ name: c.name, message: toJsonValue(c.message), hex: toHex(encodeMessage(c.message)) })),
  };
  writeFileSync(`${dir}${file}.json`, `${JSON.stringify(json, null, 2)}\n`);
}

const hello: Hello = {
  minVersion: 1,
  maxVersion: 1,
  clusterName: 'prod',
  nodeId: 'n1',
  addr: '10.0.0.1:7000',
  expectedPeerId: 'n2',
  incarnation: 0x1234_5678_9abc,
  auth: new Uint8Array(0),
};
const ack: HelloAck = {
  status: HelloStatus.Duplicate,
  version: 1,
  nodeId: 'n2',
  incarnation: 42,
  reason: 'both sides dialled',
  auth: utf8(''),
};
const handshake = {
  description:
    'Golden handshake frames, INCLUDING the u32 length prefix. The dialer sends the preamble 434b5201 ("CKR\\x01") before Hello.',
  hello: { value: toJsonValue(hello), hex: toHex(encodeHello(hello, PROTOCOL_VERSION)) },
  helloAck: { value: toJsonValue(ack), hex: toHex(encodeHelloAck(ack, PROTOCOL_VERSION)) },
};
writeFileSync(`${dir}handshake.json`, `${JSON.stringify(handshake, null, 2)}\n`);
console.log(`wrote ${Object.keys(cases).length + 1} fixture files to ${dir}`);
