/**
 * The I/O edges that are not storage or network: time and randomness. The core never calls Date.now(),
 * setTimeout or Math.random directly, so the same code runs on virtual time in the seeded simulation and on
 * wall-clock time in real processes.
 */

export interface Clock {
  /** Milliseconds, monotonic. Only differences are meaningful. */
  now(): number;
}

export interface TimerHandle {
  cancel(): void;
}

export interface Scheduler {
  /** Runs `fn` once after `ms` milliseconds unless cancelled; 0 means once the I/O already pending is handled. */
  setTimeout(fn: () => void, ms: number): TimerHandle;
}

export interface Random {
  /** A float in [0, 1). */
  next(): number;
}

export const systemClock: Clock = {
  now: () => performance.now(),
};

export const systemScheduler: Scheduler = {
  setTimeout(fn, ms) {
    if (ms <= 0) {
      // Node turns a 0 ms timeout into 1 ms; "as soon as the pending I/O has been handled" is setImmediate.
      const i = setImmediate(fn);
      i.unref();
      return { cancel: () => clearImmediate(i) };
    }
    const t = setTimeout(fn, ms);
    // Timers of a coordination library must never keep a process alive on their own.
    t.unref();
    return { cancel: () => clearTimeout(t) };
  },
};

export const systemRandom: Random = {
  next: () => Math.random(),
};

/**
 * A small, fast, seedable generator (mulberry32). Good statistical quality for simulation and jitter,
 * not for cryptography.
 */
export function seededRandom(seed: number): Random {
  let a = seed >>> 0;
  return {
    next() {
      a = (a + 0x6d2b79f5) >>> 0;
      let t = a;
      t = Math.imul(t ^ (t >>> 15), t | 1);
      t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
      return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
    },
  };
}
