/**
 * A removal judged against one process of a node can never remove a later one: a nodeLeave carries the
 * incarnation its proposer saw, and the state machine refuses it (changing nothing) once that node has restarted
 * and rejoined with another incarnation. Refusing rather than accepting as a no-op matters to the leader: its
 * health-check removal then stops there instead of going on to take the new process out of Raft.
 */
import { fc, test } from '@fast-check/vitest';
import { describe, expect } from 'vitest';
import { Harness, ok, refused } from './helpers.js';

/** One step of a node's life: a restart (its old incarnation recorded as left, then a rejoin), or a removal. */
type Step = { readonly op: 'restart' } | { readonly op: 'remove'; readonly stale: number };

const stepArb: fc.Arbitrary<Step> = fc.oneof(
  fc.constant<Step>({ op: 'restart' }),
  fc.record({ op: fc.constant('remove' as const), stale: fc.nat({ max: 5 }) }),
);

describe('removals of a restarted node', () => {
  test.prop([fc.array(stepArb, { minLength: 1, maxLength: 25 })])(
    'a removal naming an earlier incarnation is refused and changes nothing; one naming the current removes it',
    (steps) => {
      const h = new Harness();
      ok(h.bootstrap());
      ok(h.join(2));
      ok(h.join(3));
      let boot = 1;
      for (const step of steps) {
        const member = h.state.node('node-3');
        if (step.op === 'restart') {
          // What the join coordinator proposes for a restart of a member (or a rejoin after its removal).
          if (member !== undefined) {
            ok(
              h.run({
                type: 'nodeLeave',
                nodeId: 'node-3',
                reason: 'health_check_failure',
                incarnation: member.incarnation,
              }),
            );
          }
          boot++;
          const r = ok(h.join(3, { incarnation: `inc-${boot}` }));
          expect(r.join).toBe('rejoin');
          continue;
        }
        // A health-check removal decided against some earlier process (0: the current one).
        const judged = Math.max(1, boot - step.stale);
        const before = h.snapshotText();
        const r = h.run({
          type: 'nodeLeave',
          nodeId: 'node-3',
          reason: 'health_check_failure',
          incarnation: `inc-${judged}`,
        });
        if (member !== undefined && judged === boot) {
          ok(r);
          expect(h.state.node('node-3')).toBeUndefined();
        } else {
          expect(refused(r).code).toBe(member === undefined ? 'ERR_NOT_FOUND' : 'ERR_CONFLICT');
          expect(h.snapshotText()).toBe(before);
          expect(h.state.node('node-3')?.incarnation).toBe(member?.incarnation);
        }
      }
      expect(h.state.hasNode('node-2')).toBe(true);
    },
  );
});
