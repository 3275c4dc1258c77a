/** The harness's own checkers (ownership, events, durability): they pass correct runs and catch each violation. */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { checkDurability } from './harness/checks/durability.js';
import { checkEvents, expectCycle, type LifeEvents } from './harness/checks/events.js';
import { convergence, OwnershipChecker, type TableSample } from './harness/checks/ownership.js';
import type { HookEvent } from './harness/launcher.js';
import type { DurableWrite } from './harness/workload.js';

const NODES = ['n1', 'n2', 'n3'];

/** A table history that is correct by construction: version v has one table; each epoch has one primary. */
function tables(versions: number, partitions: number, seed: number): TableSample['partitions'][] {
  const out: TableSample['partitions'][] = [];
  const epochs = new Array<number>(partitions).fill(1);
  const primaries = Array.from({ length: partitions }, (_, i) => NODES[i % 3]!);
  for (let v = 0; v < versions; v++) {
    if (v > 0) {
      const p = (seed + v) % partitions;
      primaries[p] = NODES[(NODES.indexOf(primaries[p]!) + 1) % 3]!;
      epochs[p]! += 1;
    }
    out.push(
      primaries.map((primary, i) => ({
        id: `partition-${i}`,
        primary,
        replicas: NODES.filter((n) => n !== primary),
        epoch: epochs[i]!,
      })),
    );
  }
  return out;
}

describe('ownership checker', () => {
  it('accepts any interleaving of samples of a correct history', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 8 }),
        fc.integer({ min: 1, max: 6 }),
        fc.array(fc.tuple(fc.constantFrom(...NODES), fc.nat()), { maxLength: 60 }),
        (versions, parts, picks) => {
          const t = tables(versions, parts, versions);
          const c = new OwnershipChecker();
          for (const [node, k] of picks) {
            const v = k % versions;
            c.add({ node, at: k, version: v + 1, members: NODES, partitions: t[v]! });
          }
          expect(c.violations).toEqual([]);
        },
      ),
    );
  });

  it('catches two primaries of one partition at one epoch, even seconds apart', () => {
    const t = tables(1, 4, 0)[0]!;
    const c = new OwnershipChecker();
    c.add({ node: 'n1', at: 1000, version: 3, members: NODES, partitions: t });
    const split = t.map((p, i) => (i === 2 ? { ...p, primary: p.primary === 'n1' ? 'n2' : 'n1' } : p));
    c.add({ node: 'n2', at: 5000, version: 4, members: NODES, partitions: split });
    expect(c.violations.map((v) => v.kind)).toEqual(['two-primaries']);
    expect(c.violations[0]!.message).toMatch(/partition-2 epoch 1/);
  });

  it('catches two tables under one version', () => {
    const [a, b] = tables(2, 4, 1) as [TableSample['partitions'], TableSample['partitions']];
    const c = new OwnershipChecker();
    c.add({ node: 'n1', at: 1, version: 7, members: NODES, partitions: a });
    c.add({ node: 'n3', at: 2, version: 7, members: NODES, partitions: b });
    expect(c.violations.some((v) => v.kind === 'version-mismatch')).toBe(true);
  });

  it('convergence: same members and table everywhere, or what differs', () => {
    const t = tables(2, 3, 0);
    const s = (node: string, version: number, members = NODES): TableSample => ({
      node,
      at: 0,
      version,
      members,
      partitions: t[version - 1]!,
    });
    expect(convergence([s('n1', 2), s('n2', 2), s('n3', 2)])).toBeNull();
    expect(convergence([s('n1', 2), s('n2', 1)])).toMatch(/table version 1/);
    expect(convergence([s('n1', 2), s('n2', 2, ['n1', 'n2'])])).toMatch(/sees members/);
    expect(convergence([])).toMatch(/no node/);
  });
});

// --- events ------------------------------------------------------------------------------------------------------

function ev(name: string, index: number, fields: Record<string, unknown>, seq = 0): HookEvent {
  return { name, seq, at: 0, event: { index, ...fields } };
}

/** A leave of n3 at index 10 (one copy, one promotion), then its rejoin at index 20 (two copies). */
function canonical(): HookEvent[] {
  const list = [
    ev('nodeLeave', 10, { node: { id: 'n3' }, reason: 'health_check_failure' }),
    ev('rebalanceStart', 10, { copies: 1, trigger: 'node_leave' }),
    ev('partitionPromote', 10, { partitionId: 'partition-0', node: { id: 'n1' }, epoch: 2, tableVersion: 5 }),
    ev('partitionChange', 10, { partitionId: 'partition-0', copyToNode: { id: 'n1' }, needsCopy: false, epoch: 2 }),
    ev('partitionChange', 10, { partitionId: 'partition-1', copyToNode: { id: 'n2' }, needsCopy: true, epoch: 1 }),
    ev('rebalanceComplete', 10, { copies: 1, tableVersion: 5 }),
    ev('nodeRejoin', 20, { node: { id: 'n3' } }),
    ev('rebalanceStart', 20, { copies: 2, trigger: 'node_rejoin' }),
    ev('partitionChange', 20, { partitionId: 'partition-0', copyToNode: { id: 'n3' }, needsCopy: true, epoch: 2 }),
    ev('partitionChange', 20, { partitionId: 'partition-1', copyToNode: { id: 'n3' }, needsCopy: true, epoch: 1 }),
    ev('rebalanceComplete', 20, { copies: 2, tableVersion: 6 }),
  ];
  return list.map((e, seq) => ({ ...e, seq }));
}

function life(node: string, events: HookEvent[], truncated = false, n = 1): LifeEvents {
  return { node, life: n, events, truncated };
}

describe('events checker', () => {
  it('accepts survivors that report the same transitions once, and a restarted node reporting only its new life', () => {
    const all = canonical();
    const r = checkEvents(
      [life('n1', all), life('n2', all), life('n3', all.slice(0, 3), true), life('n3', all.slice(6), false, 2)],
      ['n1', 'n2'],
    );
    expect(r.violations).toEqual([]);
    expect(r.transitions).toBe(2);
    expect(expectCycle([life('n1', all), life('n2', all)], ['n1', 'n2'], 'n3', 'health_check_failure')).toEqual([]);
  });

  it('catches an event reported twice, in one life or after a restart', () => {
    const all = canonical();
    expect(checkEvents([life('n1', [...all, all[6]!])], []).violations.join()).toMatch(
      /once: n1 reported nodeRejoin\|20/,
    );
    const r = checkEvents([life('n2', all.slice(0, 6), true), life('n2', all.slice(0, 7), false, 2)], []);
    expect(r.violations.join()).toMatch(/once: n2 reported nodeLeave\|10/);
  });

  it('catches nodes that disagree on an index, and a survivor that missed what another reported', () => {
    const all = canonical();
    const other = all.map((e) =>
      e.name === 'partitionChange' && e.event['index'] === 20 ? { ...e, event: { ...e.event, epoch: 9 } } : e,
    );
    expect(checkEvents([life('n1', all), life('n2', other)], []).violations.join()).toMatch(/agree: at index 20/);
    const missing = all.filter((e) => e.name !== 'nodeRejoin');
    const r = checkEvents([life('n1', all), life('n2', missing)], ['n1', 'n2']);
    expect(r.violations.join()).toMatch(/complete: n1 reported nodeRejoin\|20\|n3/);
    expect(expectCycle([life('n2', missing)], ['n2'], 'n3', 'health_check_failure')).toEqual([
      'n2 reported 0 nodeRejoin events for n3, expected 1',
    ]);
  });

  it('catches a rebalance whose partition changes do not match its announced copies and promotions', () => {
    const all = canonical().filter((e) => !(e.name === 'partitionChange' && e.event['index'] === 20 && e.seq === 9));
    expect(checkEvents([life('n1', all)], []).violations.join()).toMatch(/coherent: n1 at index 20/);
    const noPromotion = canonical().filter((e) => e.name !== 'partitionPromote');
    expect(checkEvents([life('n1', noPromotion)], []).violations.join()).toMatch(/coherent: n1 at index 10/);
  });

  it('catches two leaves of a node in a row on an undisturbed survivor', () => {
    const twice = [ev('nodeLeave', 10, { node: { id: 'n3' } }, 0), ev('nodeLeave', 12, { node: { id: 'n3' } }, 1)];
    expect(checkEvents([life('n1', twice)], ['n1']).violations.join()).toMatch(/two leaves of n3/);
  });
});

describe('durability checker', () => {
  const w = (key: string, status: DurableWrite['status']): DurableWrite => ({ key, value: `${key}=v`, status });

  it('every acknowledged write must be there with its value; unknown ones may be; failed ones must not', () => {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.constantFrom('acked', 'unknown', 'failed'), fc.boolean()), { maxLength: 40 }),
        (spec) => {
          const writes = spec.map(([status], i) => w(`k${i}`, status));
          const read = new Map<string, string | undefined>();
          spec.forEach(([status, present], i) => {
            const keep = status === 'acked' || (status === 'unknown' && present);
            read.set(`k${i}`, keep ? `k${i}=v` : undefined);
          });
          const r = checkDurability(writes, read);
          expect(r.lost).toEqual([]);
          expect(r.wrong).toEqual([]);
          expect(r.phantom).toEqual([]);
          expect(r.acked).toBe(spec.filter(([s]) => s === 'acked').length);
        },
      ),
    );
    const r = checkDurability(
      [w('a', 'acked'), w('b', 'acked'), w('c', 'failed'), w('d', 'unknown')],
      new Map([
        ['a', undefined],
        ['b', 'other'],
        ['c', 'c=v'],
        ['d', 'nope'],
      ]),
    );
    expect(r.lost).toEqual(['a']);
    expect(r.wrong).toHaveLength(2);
    expect(r.phantom).toEqual(['c']);
  });
});
