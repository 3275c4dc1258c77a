import { describe, expect, it } from 'vitest';
import { LivenessTracker } from '../../../src/cluster/liveness.js';

// interval 100 ms × threshold 3, timeout 150 ms, evaluated every 33 ms.
const config = { unhealthyAfterMs: 150, deadAfterMs: 300, gapMs: 100, stallHoldMs: 200, periodMs: 33 };

/** Drives the tracker like the leader does: `contact(t)` = ms since the last answer at time t (-1: never). */
function run(
  tracker: LivenessTracker,
  from: number,
  to: number,
  contacts: (t: number) => Record<string, number>,
  step = 33,
): void {
  for (let t = from; t <= to; t += step) tracker.update(t, new Map(Object.entries(contacts(t))));
}

describe('LivenessTracker', () => {
  it('finds a silent member unhealthy after the timeout and dead after interval × threshold', () => {
    const tr = new LivenessTracker(config);
    const deathAt = 1000;
    run(tr, 0, 990, () => ({ b: 5 }));
    expect(tr.get('b')).toMatchObject({ healthy: true, dead: false, everHeard: true });
    // b stops answering at 1000: the engine's lastContactMs grows.
    run(tr, 1023, 1140, (t) => ({ b: t - deathAt }));
    expect(tr.get('b')).toMatchObject({ healthy: true, dead: false });
    run(tr, 1173, 1290, (t) => ({ b: t - deathAt }));
    expect(tr.get('b')).toMatchObject({ healthy: false, dead: false });
    run(tr, 1305, 1305, (t) => ({ b: t - deathAt }));
    expect(tr.get('b')).toMatchObject({ healthy: false, dead: true });
    expect(tr.lastContactAt('b')).toBe(deathAt);
    expect(tr.unhealthySince('b')).toBe(deathAt + 150);
  });

  it('gives a member it never heard from the full grace period from when tracking started', () => {
    const tr = new LivenessTracker(config);
    run(tr, 5000, 5280, () => ({ c: -1 }));
    expect(tr.get('c')).toMatchObject({ dead: false, everHeard: false });
    run(tr, 5313, 5313, () => ({ c: -1 }));
    expect(tr.get('c')?.dead).toBe(true);
  });

  it('holds its decisions right after its own process stalled', () => {
    const tr = new LivenessTracker(config);
    run(tr, 0, 99, () => ({ b: 1 }));
    // 2 s without an evaluation: the engine reports everyone silent, which says nothing about them.
    tr.update(2099, new Map([['b', 2000]]));
    expect(tr.holding).toBe(true);
    expect(tr.get('b')?.dead).toBe(false);
    // Replication catches up: answers come again, nothing was decided meanwhile.
    run(tr, 2132, 2400, () => ({ b: 3 }));
    expect(tr.holding).toBe(false);
    expect(tr.get('b')).toMatchObject({ healthy: true, dead: false });
  });

  it('remembers the last outage, for the offline time of a restarted node', () => {
    const tr = new LivenessTracker(config);
    run(tr, 0, 495, () => ({ b: 2 }));
    // b is down from ~495 to ~800, then answers again (a quick restart).
    run(tr, 528, 792, (t) => ({ b: t - 495 }));
    expect(tr.lastSeenBeforeOutage('b', 60_000)).toBe(495);
    run(tr, 825, 990, () => ({ b: 2 }));
    expect(tr.lastSeenBeforeOutage('b', 60_000)).toBe(495);
    // Forgotten after the memory window; never seen for members without an outage.
    expect(tr.lastSeenBeforeOutage('b', 50)).toBeUndefined();
    run(tr, 0, 0, () => ({ b: 2, c: 2 }));
    expect(tr.lastSeenBeforeOutage('c', 60_000)).toBeUndefined();
  });

  it('forgets members that are no longer reported, and everything on reset', () => {
    const tr = new LivenessTracker(config);
    run(tr, 0, 100, () => ({ b: 1, c: 1 }));
    tr.update(133, new Map([['b', 1]]));
    expect(tr.get('c')).toBeUndefined();
    expect(tr.all().map((m) => m.id)).toEqual(['b']);
    tr.reset();
    expect(tr.all()).toEqual([]);
  });
});
