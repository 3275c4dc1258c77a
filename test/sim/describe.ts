/** Compact one-line descriptions of messages and entries for the event trace. */
import { EntryType, type Message, MessageType } from '../../src/raft/types.js';

const SHORT: Record<MessageType, string> = {
  [MessageType.AppendEntries]: 'AE',
  [MessageType.AppendEntriesResponse]: 'AER',
  [MessageType.RequestVote]: 'RV',
  [MessageType.RequestVoteResponse]: 'RVR',
  [MessageType.InstallSnapshot]: 'IS',
  [MessageType.InstallSnapshotResponse]: 'ISR',
  [MessageType.TimeoutNow]: 'TN',
  [MessageType.ForwardPropose]: 'FP',
  [MessageType.ForwardProposeResponse]: 'FPR',
  [MessageType.ReadIndexRequest]: 'RI',
  [MessageType.ReadIndexResponse]: 'RIR',
};

export function describeMessage(m: Message): string {
  const head = `${m.from}->${m.to} ${SHORT[m.type] ?? `T${String(m.type)}`} t${m.term}`;
  switch (m.type) {
    case MessageType.AppendEntries: {
      const n = m.entries.length;
      const range = n === 0 ? '' : ` [${m.entries[0]?.index}..${m.entries[n - 1]?.index}]`;
      return `${head} prev=${m.prevIndex}/${m.prevTerm}${range} c=${m.commit} r=${m.round}`;
    }
    case MessageType.AppendEntriesResponse:
      return `${head} ${m.success ? 'ok' : 'no'} m=${m.matchIndex} ct=${m.conflictTerm} ci=${m.conflictIndex} r=${m.round}`;
    case MessageType.RequestVote:
      return `${head}${m.preVote ? ' pre' : ''}${m.transfer ? ' xfer' : ''} last=${m.lastIndex}/${m.lastTerm}`;
    case MessageType.RequestVoteResponse:
      return `${head}${m.preVote ? ' pre' : ''} ${m.granted ? 'yes' : 'no'}`;
    case MessageType.InstallSnapshot:
      return `${head} snap=${m.meta.index}/${m.meta.term} off=${m.offset} len=${m.chunk.length}${m.done ? ' done' : ''}`;
    case MessageType.InstallSnapshotResponse:
      return `${head} snap=${m.index} recv=${m.received}${m.done ? ' done' : ''}`;
    case MessageType.TimeoutNow:
      return head;
    case MessageType.ForwardPropose:
      return `${head} req=${m.requestId} n=${m.commands.length}`;
    case MessageType.ForwardProposeResponse:
      return `${head} req=${m.requestId} idx=${m.index}/${m.entryTerm}${m.error === '' ? '' : ` err=${m.error}`}`;
    case MessageType.ReadIndexRequest:
      return `${head} req=${m.requestId}`;
    case MessageType.ReadIndexResponse:
      return `${head} req=${m.requestId} idx=${m.index}${m.error === '' ? '' : ` err=${m.error}`}`;
  }
}

export function entryTypeName(t: EntryType): string {
  switch (t) {
    case EntryType.Command:
      return 'cmd';
    case EntryType.Noop:
      return 'noop';
    case EntryType.Config:
      return 'config';
  }
}
