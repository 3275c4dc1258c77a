import { fc, test } from '@fast-check/vitest';
import { describe, expect, it } from 'vitest';
import { LivenessTracker, NOT_IN_RAFT } from '../../../src/cluster/liveness.js';

// interval 100 ms × threshold 3, timeout 150 ms, evaluated every 33 ms.
const config = { unhealthyAfterMs: 150, deadAfterMs: 300, gapMs: 100, stallHoldMs: 200, periodMs: 33 };

/** Drives the tracker like the leader does: `contact(t)` = ms since the last answer at time t (-1: never). */
function run(
  tracker: LivenessTracker,
  from: number,
  to: number,
  contacts: (t: number) => Record<string, number>,
  step = 33,
  incarnations: Record<string, string> = {},
): void {
  for (let t = from; t <= to; t += step) {
    tracker.update(t, new Map(Object.entries(contacts(t))), new Map(Object.entries(incarnations)));
  }
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

  it('tracks a member restarted as a new process anew, not from the old process silence', () => {
    // The sequence seen with real processes: b dies at 1000 (its removal would be due at 1900); its restart is
    // admitted at 1716, and the engine's progress goes on reporting the old process's last answer until the new
    // process first answers.
    const tr = new LivenessTracker({ ...config, deadAfterMs: 900, firstContactMs: 200 });
    const deathAt = 1000;
    run(tr, 0, 990, () => ({ b: 5 }), 33, { b: 'i.1' });
    run(tr, 1023, 690 + deathAt, (t) => ({ b: t - deathAt }), 33, { b: 'i.1' });
    expect(tr.get('b')).toMatchObject({ healthy: false, dead: false });
    expect(tr.lastSeenBeforeOutage('b', 60_000)).toBe(deathAt);
    const restartAt = 1716;
    run(tr, restartAt, restartAt, (t) => ({ b: t - deathAt }), 33, { b: 'i.2' });
    expect(tr.get('b')).toMatchObject({ silenceMs: 0, healthy: true, dead: false, everHeard: false });
    // The old process's outage is over: it counts for the offline time, from its real start.
    expect(tr.lastSeenBeforeOutage('b', 60_000)).toBe(deathAt);
    // From 1900 on (900 ms after the kill) it used to be found dead and removed again; the new process gets its
    // full grace from its restart instead.
    run(tr, restartAt + 33, restartAt + 1089, (t) => ({ b: t - deathAt }), 33, { b: 'i.2' });
    expect(tr.get('b')).toMatchObject({ dead: false, everHeard: false });
    // Never reached: dead after firstContactMs + deadAfterMs from the restart.
    run(tr, restartAt + 1122, restartAt + 1122, (t) => ({ b: t - deathAt }), 33, { b: 'i.2' });
    expect(tr.get('b')).toMatchObject({ dead: true, everHeard: false });
  });

  it('hears a restarted member once it answers, and then removes it after deadAfterMs of silence as usual', () => {
    const tr = new LivenessTracker({ ...config, deadAfterMs: 300, firstContactMs: 2000 });
    run(tr, 0, 495, () => ({ b: 3 }), 33, { b: 'i.1' });
    // Restarted at 528 (the old answer from 495 still reported), first answer from the new process at 660.
    run(tr, 528, 627, (t) => ({ b: t - 495 }), 33, { b: 'i.2' });
    expect(tr.get('b')?.everHeard).toBe(false);
    run(tr, 660, 825, (t) => ({ b: t - 660 }), 33, { b: 'i.2' });
    expect(tr.get('b')).toMatchObject({ everHeard: true, dead: false });
    expect(tr.lastContactAt('b')).toBe(660);
    run(tr, 858, 957, (t) => ({ b: t - 660 }), 33, { b: 'i.2' });
    expect(tr.get('b')?.dead).toBe(false);
    run(tr, 990, 990, (t) => ({ b: t - 660 }), 33, { b: 'i.2' });
    expect(tr.get('b')?.dead).toBe(true);
  });

  it('does not count an answer from before tracking (re)started as hearing from a member', () => {
    const tr = new LivenessTracker({ ...config, firstContactMs: 500 });
    // Rejoined after its removal: not in Raft yet, then re-added with the progress the leader kept (last answer
    // 1600 ms ago, from the old process).
    run(tr, 2000, 2099, () => ({ b: NOT_IN_RAFT }), 33, { b: 'i.2' });
    expect(tr.get('b')).toMatchObject({ silenceMs: 0, everHeard: false });
    const addedAt = 2099;
    run(tr, 2132, 2231, (t) => ({ b: 1600 + t - addedAt }), 33, { b: 'i.2' });
    expect(tr.get('b')).toMatchObject({ everHeard: false, dead: false });
    expect(tr.lastContactAt('b')).toBe(addedAt);
    // Still not heard: dead after firstContactMs + deadAfterMs from its addition.
    run(tr, 2264, addedAt + 799, (t) => ({ b: 1600 + t - addedAt }), 33, { b: 'i.2' });
    expect(tr.get('b')?.dead).toBe(false);
    run(tr, addedAt + 800, addedAt + 800, (t) => ({ b: 1600 + t - addedAt }), 33, { b: 'i.2' });
    expect(tr.get('b')?.dead).toBe(true);
  });

  it('adds the engine tick as slack, and says when the next member would turn dead', () => {
    // (Updates far apart here: a long period, so that they do not count as stalls.)
    const tr = new LivenessTracker({ ...config, periodMs: 10_000, contactSlackMs: 25, firstContactMs: 400 });
    expect(tr.msUntilDecision(0)).toBeUndefined();
    // b answered at 1000; c has never answered since tracking began at 900.
    tr.update(
      1000,
      new Map([
        ['b', 0],
        ['c', -1],
      ]),
    );
    tr.update(
      1010,
      new Map([
        ['b', 10],
        ['c', -1],
      ]),
    );
    // b: dead at 1000 + 300 + 25; c: at 1000 + 300 + 400 + 25 (tracked from its first report, at 1000).
    expect(tr.msUntilDecision(1010)).toBe(315);
    tr.update(
      1324,
      new Map([
        ['b', 324],
        ['c', -1],
      ]),
    );
    expect(tr.get('b')?.dead).toBe(false);
    expect(tr.msUntilDecision(1324)).toBe(1);
    tr.update(
      1325,
      new Map([
        ['b', 325],
        ['c', -1],
      ]),
    );
    expect(tr.get('b')?.dead).toBe(true);
    // A member dead already is not waited for: the next decision is c's.
    expect(tr.msUntilDecision(1325)).toBe(1725 - 1325);
  });

  it('after a stall, says when the hold ends', () => {
    const tr = new LivenessTracker(config);
    tr.update(0, new Map([['b', 0]]));
    tr.update(5000, new Map([['b', 0]]));
    expect(tr.holding).toBe(true);
    expect(tr.msUntilDecision(5000)).toBe(config.stallHoldMs);
  });

  it('keeps the incarnation it knows while a member is reported without one (a Raft member outside the state)', () => {
    const tr = new LivenessTracker(config);
    run(tr, 0, 99, () => ({ b: 2 }), 33, { b: 'i.1' });
    run(tr, 132, 231, (t) => ({ b: t - 99 }));
    expect(tr.get('b')?.silenceMs).toBe(231 - 99);
    // Back in the state with the same incarnation: nothing restarts.
    run(tr, 264, 264, (t) => ({ b: t - 99 }), 33, { b: 'i.1' });
    expect(tr.get('b')).toMatchObject({ silenceMs: 264 - 99, everHeard: true });
  });
});

type Report =
  | { readonly kind: 'contact'; readonly dt: number; readonly lastContactMs: number }
  | { readonly kind: 'never'; readonly dt: number }
  | { readonly kind: 'notInRaft'; readonly dt: number }
  | { readonly kind: 'restart'; readonly dt: number; readonly lastContactMs: number };

const reportArb: fc.Arbitrary<Report> = fc.oneof(
  {
    weight: 8,
    arbitrary: fc.record({
      kind: fc.constant('contact' as const),
      dt: fc.integer({ min: 1, max: 200 }),
      lastContactMs: fc.integer({ min: 0, max: 3000 }),
    }),
  },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('never' as const), dt: fc.integer({ min: 1, max: 200 }) }) },
  {
    weight: 1,
    arbitrary: fc.record({ kind: fc.constant('notInRaft' as const), dt: fc.integer({ min: 1, max: 200 }) }),
  },
  {
    weight: 1,
    arbitrary: fc.record({
      kind: fc.constant('restart' as const),
      dt: fc.integer({ min: 1, max: 200 }),
      lastContactMs: fc.integer({ min: 0, max: 3000 }),
    }),
  },
);

describe('LivenessTracker (properties)', () => {
  test.prop([
    fc.array(fc.record({ dt: fc.integer({ min: 1, max: 400 }), answered: fc.boolean() }), {
      minLength: 1,
      maxLength: 60,
    }),
    fc.integer({ min: 0, max: 30 }),
  ])(
    'a silent member is dead exactly when msUntilDecision said, never sooner than deadAfterMs + slack',
    (steps, slack) => {
      const cfg = { ...config, stallHoldMs: 200, periodMs: 10_000, contactSlackMs: slack };
      const tr = new LivenessTracker(cfg);
      let t = 1000;
      let heard = t;
      tr.update(t, new Map([['b', 0]]));
      for (const step of steps) {
        const due = tr.msUntilDecision(t);
        t += step.dt;
        if (step.answered) heard = t;
        tr.update(t, new Map([['b', t - heard]]));
        const live = tr.get('b')!;
        expect(live.dead).toBe(t - heard >= cfg.deadAfterMs + slack);
        // With nothing heard since the last look, it turns dead exactly when it was said to.
        if (!step.answered && due !== undefined) expect(live.dead).toBe(step.dt >= due);
      }
    },
  );

  const cfg = {
    unhealthyAfterMs: 150,
    deadAfterMs: 300,
    firstContactMs: 400,
    gapMs: 100,
    stallHoldMs: 200,
    periodMs: 33,
  };

  test.prop([fc.array(reportArb, { minLength: 1, maxLength: 80 })])(
    'silence counts from the latest answer of the current process, never from before its (re)start',
    (reports) => {
      const tr = new LivenessTracker(cfg);
      let t = 10_000;
      let incarnation = 1;
      // The model: when the current process's tracking began, and its latest answer since.
      let since: number | undefined;
      let heard: number | undefined;
      for (const r of reports) {
        t += r.dt;
        let reported: number;
        // The tracker's first sight of a member cannot be told from a restart: it is taken as a first contact.
        const firstSight = since === undefined;
        if (r.kind === 'restart') incarnation++;
        if (since === undefined || r.kind === 'restart' || r.kind === 'notInRaft') {
          since = t;
          heard = undefined;
        }
        if (r.kind === 'contact' || r.kind === 'restart') {
          reported = r.lastContactMs;
          // Whatever the engine reports on the restart itself describes the old process (unless there was none).
          const counts = r.kind === 'contact' || firstSight;
          if (counts && t - r.lastContactMs >= since) heard = Math.max(heard ?? 0, t - r.lastContactMs);
        } else reported = r.kind === 'never' ? -1 : NOT_IN_RAFT;
        tr.update(t, new Map([['b', reported]]), new Map([['b', `i.${incarnation}`]]));
        const live = tr.get('b')!;
        const last = heard ?? since;
        expect(live.silenceMs).toBe(t - last);
        expect(live.everHeard).toBe(heard !== undefined);
        const deadAfter = cfg.deadAfterMs + (heard === undefined ? cfg.firstContactMs : 0);
        expect(live.dead).toBe(!tr.holding && t - last >= deadAfter);
        // Above all: never dead sooner than deadAfterMs after the current process was admitted or last answered.
        if (live.dead) expect(t - Math.max(since, heard ?? since)).toBeGreaterThanOrEqual(cfg.deadAfterMs);
      }
    },
  );
});
