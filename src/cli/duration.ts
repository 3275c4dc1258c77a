/**
 * Durations as operators write them in flags and environment variables: a bare number of milliseconds (`1500`), or
 * Go's `time.ParseDuration` syntax restricted to the units that make sense here (`500ms`, `1s`, `1.5s`, `2m30s`,
 * `1h`). The Go original's deployments and docs use that syntax, so the same values work unchanged.
 */

const UNIT_MS: Readonly<Record<string, number>> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

/** Up to 15 digits and 6 decimals: enough for any sane duration, and never a lossy float. */
const NUMBER = /^(?:[0-9]{1,15})(?:\.[0-9]{1,6})?$/;
const PART = /([0-9]{1,15}(?:\.[0-9]{1,6})?)(ms|s|m|h)/y;

/**
 * Milliseconds, or undefined when `text` is not a duration. Fractions of a millisecond are rounded to the nearest
 * millisecond; the caller checks the range.
 */
export function parseDuration(text: string): number | undefined {
  const s = text.trim();
  if (s === '') return undefined;
  if (NUMBER.test(s)) return Math.round(Number(s));
  let total = 0;
  let pos = 0;
  const seen = new Set<string>();
  while (pos < s.length) {
    PART.lastIndex = pos;
    const m = PART.exec(s);
    if (m === null) return undefined;
    const unit = m[2]!;
    // "1s1s" is almost certainly a typo; Go accepts it, we prefer to say so.
    if (seen.has(unit)) return undefined;
    seen.add(unit);
    total += Number(m[1]) * UNIT_MS[unit]!;
    pos = PART.lastIndex;
  }
  return Number.isFinite(total) ? Math.round(total) : undefined;
}

/** A short human form of a millisecond count (for help texts and logs): 500ms, 5s, 1m30s. */
export function formatDuration(ms: number): string {
  if (ms < 1000 || ms % 1000 !== 0) return `${ms}ms`;
  const s = ms / 1000;
  if (s < 60) return `${s}s`;
  const m = Math.floor(s / 60);
  const rest = s % 60;
  return rest === 0 ? `${m}m` : `${m}m${rest}s`;
}
