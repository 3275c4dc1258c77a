/**
 * The event log of a run. Every event the loop executes (and every fault, message and client action) adds one
 * line. A running hash of all lines is always kept, so two runs can be compared for determinism cheaply; the
 * lines themselves are either all kept (--trace, determinism tests) or only the last few hundred (to print
 * context when a run fails).
 */
import { fnv1a } from './rng.js';

export type TraceMode = 'ring' | 'full';

export class Trace {
  private lines: string[] = [];
  private ringStart = 0;
  private hashA = 0x811c9dc5;
  private hashB = 0x12345678;
  private count = 0;

  constructor(
    readonly mode: TraceMode = 'ring',
    private readonly ringSize = 400,
    /** Called for every line as it is written (the CLI streams the trace this way). */
    private readonly sink?: (line: string) => void,
  ) {}

  add(now: number, line: string): void {
    const text = `${now.toFixed(3).padStart(10)} ${line}`;
    this.count++;
    // Two independent 32-bit hashes: a 64-bit fingerprint is plenty to compare traces of millions of lines.
    this.hashA = fnv1a(text, this.hashA);
    this.hashB = fnv1a(text, Math.imul(this.hashB ^ this.count, 0x9e3779b1) >>> 0);
    if (this.sink !== undefined) this.sink(text);
    if (this.mode === 'full') {
      this.lines.push(text);
    } else if (this.lines.length < this.ringSize) {
      this.lines.push(text);
    } else {
      this.lines[this.ringStart] = text;
      this.ringStart = (this.ringStart + 1) % this.ringSize;
    }
  }

  /** Hex fingerprint of every line written so far. */
  fingerprint(): string {
    return `${this.hashA.toString(16).padStart(8, '0')}${this.hashB.toString(16).padStart(8, '0')}:${this.count}`;
  }

  get length(): number {
    return this.count;
  }

  /** The kept lines in order (all of them in 'full' mode, the most recent ones in 'ring' mode). */
  tail(n = Number.POSITIVE_INFINITY): string[] {
    const ordered =
      this.mode === 'full' ? this.lines : [...this.lines.slice(this.ringStart), ...this.lines.slice(0, this.ringStart)];
    return n >= ordered.length ? ordered.slice() : ordered.slice(ordered.length - n);
  }
}
