/**
 * Wraps a node so that every membership call made on it is seen by the checkers: `begin` runs when the call is
 * made (to note the node's commit index then) and the function it returns runs when the call resolves
 * successfully. The caller gets the engine's own promise, untouched.
 */
import type { Raft } from '../../src/raft/api.js';
import type { MembershipChange } from '../../src/raft/core/types.js';

export function watchMembershipCalls<R>(raft: Raft<R>, begin: (change: MembershipChange) => () => void): Raft<R> {
  const watch = (change: MembershipChange, call: () => Promise<void>): Promise<void> => {
    const resolved = begin(change);
    const p = call();
    // A rejection is the caller's to handle (it gets `p` itself); this branch only has to exist.
    p.then(resolved, () => undefined);
    return p;
  };
  return {
    start: () => raft.start(),
    propose: (command, options) => raft.propose(command, options),
    read: (options) => raft.read(options),
    addMember: (id, addr, options) =>
      watch({ kind: 'add', id, addr, voter: options?.voter ?? false }, () => raft.addMember(id, addr, options)),
    promote: (id, options) => watch({ kind: 'promote', id }, () => raft.promote(id, options)),
    demote: (id, options) => watch({ kind: 'demote', id }, () => raft.demote(id, options)),
    removeMember: (id, options) => watch({ kind: 'remove', id }, () => raft.removeMember(id, options)),
    transferLeadership: (to, options) => raft.transferLeadership(to, options),
    status: () => raft.status(),
    counters: () => raft.counters(),
    on: (event, listener) => raft.on(event, listener),
    stop: () => raft.stop(),
  };
}
