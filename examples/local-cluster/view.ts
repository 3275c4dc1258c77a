/**
 * The live view of the local cluster in the terminal.
 *
 * On a terminal (TTY): a status panel at the bottom (phase, one row per node, a progress bar, counters), redrawn
 * in place a few times a second, with a scrolling log of what happened above it; colours through node:util's
 * styleText. Anywhere else (CI, a pipe, a test): plain lines only, no cursor movement and no colour, and progress
 * as a line every quarter. The render functions are pure (they take the model and a width, return lines), so the
 * tests check them without a terminal.
 */
import { styleText } from 'node:util';

export type Tone = 'phase' | 'good' | 'bad' | 'warn' | 'event' | 'move' | 'dim' | 'plain';

/** Colours a text by tone; the identity when colour is off. */
export type Paint = (tone: Tone, text: string) => string;

type Format = Parameters<typeof styleText>[0];
const FORMATS: Readonly<Record<Tone, Format | undefined>> = {
  phase: ['bold', 'cyan'],
  good: 'green',
  bad: ['bold', 'red'],
  warn: 'yellow',
  event: 'blue',
  move: 'magenta',
  dim: 'gray',
  plain: undefined,
};

export const noPaint: Paint = (_tone, text) => text;

/** Colour decided by the caller (TTY, NO_COLOR, --no-color), so styleText must not second-guess the stream. */
export const colorPaint: Paint = (tone, text) => {
  const f = FORMATS[tone];
  return f === undefined || text === '' ? text : styleText(f, text, { validateStream: false });
};

export type NodeState = 'starting' | 'up' | 'killed' | 'down' | 'restarting' | 'stopped';

export interface NodeRow {
  readonly id: string;
  readonly state: NodeState;
  readonly pid?: number;
  /** leader | voter | nonvoter, from GET /cluster. */
  readonly role?: string;
  readonly healthy?: boolean;
  readonly keys?: number;
  readonly primaries?: number;
  readonly replicas?: number;
}

export interface ViewModel {
  title: string;
  phase: string;
  /** What the current phase waits for. */
  detail: string;
  nodes: NodeRow[];
  progress: { label: string; done: number; total: number } | undefined;
  counters: string;
}

/** `[  12.3s] text`, the prefix of every log line. */
export function formatLog(elapsedMs: number, text: string, tone: Tone, paint: Paint): string {
  const t = `[${(elapsedMs / 1000).toFixed(2).padStart(6)}s]`;
  return `${paint('dim', t)} ${paint(tone, text)}`;
}

/** A bar of `width` cells, `done/total` of them full. */
export function progressBar(done: number, total: number, width: number): string {
  const w = Math.max(0, Math.floor(width));
  const f = total <= 0 ? 1 : Math.min(1, Math.max(0, done / total));
  const full = Math.round(f * w);
  return '█'.repeat(full) + '░'.repeat(w - full);
}

/**
 * Cuts `s` to `width` characters (the panel must never wrap: it is redrawn by moving the cursor up). The panel's
 * text is node ids, numbers and a few symbols of the Basic Multilingual Plane: one UTF-16 unit per column.
 */
export function fit(s: string, width: number): string {
  return s.length <= width ? s : `${s.slice(0, Math.max(0, width - 1))}…`;
}

const STATE_TONE: Readonly<Record<NodeState, Tone>> = {
  starting: 'warn',
  up: 'good',
  killed: 'bad',
  down: 'bad',
  restarting: 'warn',
  stopped: 'dim',
};

function nodeRow(n: NodeRow, width: number, paint: Paint): string {
  const mark =
    n.state === 'up' ? (n.healthy === false ? '◐' : '●') : n.state === 'killed' || n.state === 'down' ? '✖' : '○';
  const state = `${mark} ${n.state}`.padEnd(12);
  const role = (n.role ?? '').padEnd(9);
  const pid = n.pid === undefined ? ''.padEnd(10) : `pid ${n.pid}`.padEnd(10);
  const keys = n.keys === undefined ? '' : `${String(n.keys).padStart(6)} keys`;
  const owns =
    n.primaries === undefined
      ? ''
      : `  ${String(n.primaries).padStart(3)} primaries ${String(n.replicas ?? 0).padStart(3)} replicas`;
  // Cut before colouring: escape codes are invisible but would count against the width.
  const text = fit(`  ${n.id.padEnd(9)}${state}${role}${pid}${keys}${owns}`, width);
  const head = text.slice(0, 11);
  const stateEnd = Math.min(text.length, 11 + 12);
  return head + paint(STATE_TONE[n.state], text.slice(11, stateEnd)) + text.slice(stateEnd);
}

/** The panel's lines for a terminal `width` columns wide; none is longer than width - 1. */
export function renderPanel(m: ViewModel, elapsedMs: number, width: number, paint: Paint): string[] {
  const w = Math.max(20, width - 1);
  const clock = `${(elapsedMs / 1000).toFixed(1)} s`;
  const title = fit(m.title, Math.max(1, w - clock.length - 1));
  const lines = [
    paint('dim', '─'.repeat(w)),
    `${paint('phase', title)}${' '.repeat(Math.max(1, w - title.length - clock.length))}${clock}`,
    paint('phase', fit(`${m.phase}${m.detail === '' ? '' : ` — ${m.detail}`}`, w)),
  ];
  for (const n of m.nodes) lines.push(nodeRow(n, w, paint));
  if (m.progress !== undefined) {
    const { label, done, total } = m.progress;
    const numbers = ` ${done}/${total}`;
    const barWidth = Math.max(5, Math.min(40, w - 12 - numbers.length));
    lines.push(fit(`  ${label.padEnd(9)} ${progressBar(done, total, barWidth)}${numbers}`, w));
  }
  if (m.counters !== '') lines.push(paint('dim', fit(`  ${m.counters}`, w)));
  return lines;
}

export interface Output {
  write(s: string): boolean;
  readonly columns?: number;
}

/** The live view: a log above, the panel below (TTY), or plain lines. */
export class LiveView {
  readonly model: ViewModel = { title: '', phase: '', detail: '', nodes: [], progress: undefined, counters: '' };
  readonly paint: Paint;
  readonly #out: Output;
  readonly #tty: boolean;
  readonly #t0: number;
  #panelLines = 0;
  #timer: NodeJS.Timeout | undefined;
  #dirty = false;
  #lastQuarter = -1;
  #closed = false;

  constructor(out: Output, options: { tty: boolean; color: boolean; t0?: number }) {
    this.#out = out;
    this.#tty = options.tty;
    this.paint = options.color ? colorPaint : noPaint;
    this.#t0 = options.t0 ?? performance.now();
    if (this.#tty) {
      this.#out.write('\x1b[?25l'); // hide the cursor while the panel is live
      this.#timer = setInterval(() => this.#draw(), 200);
      this.#timer.unref();
    }
  }

  get tty(): boolean {
    return this.#tty;
  }

  elapsed(): number {
    return performance.now() - this.#t0;
  }

  /** A line in the log (above the panel on a terminal). */
  log(text: string, tone: Tone = 'plain'): void {
    if (this.#closed) return;
    this.#write([formatLog(this.elapsed(), text, tone, this.paint)]);
  }

  /** Several lines at once, without the time prefix (tables, the summary). */
  block(lines: readonly string[]): void {
    if (this.#closed) return;
    this.#write(lines);
  }

  phase(name: string): void {
    this.model.phase = name;
    this.model.detail = '';
    this.model.progress = undefined;
    this.#lastQuarter = -1;
    this.log(`▶ ${name}`, 'phase');
  }

  detail(text: string): void {
    this.model.detail = text;
    this.changed();
  }

  progress(label: string, done: number, total: number): void {
    this.model.progress = { label, done, total };
    if (!this.#tty) {
      // Plain output: one line per quarter, so a log shows progress without a line per request.
      const quarter = total <= 0 ? 4 : Math.floor((4 * done) / total);
      if (quarter > this.#lastQuarter && quarter > 0) {
        this.#lastQuarter = quarter;
        this.log(`  ${label} ${done}/${total}`, 'dim');
      }
      return;
    }
    this.changed();
  }

  /** The model changed: redraw soon (at most every 200 ms). */
  changed(): void {
    this.#dirty = true;
  }

  /** Removes the panel and restores the cursor; the log stays. Idempotent. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    if (this.#timer !== undefined) clearInterval(this.#timer);
    if (this.#tty) this.#out.write(`${this.#erasePanel()}\x1b[?25h`);
  }

  #erasePanel(): string {
    const up = this.#panelLines;
    this.#panelLines = 0;
    return up === 0 ? '' : `\x1b[${up}A\r\x1b[0J`;
  }

  #write(lines: readonly string[]): void {
    if (!this.#tty) {
      this.#out.write(`${lines.join('\n')}\n`);
      return;
    }
    this.#out.write(`${this.#erasePanel()}${lines.join('\n')}\n${this.#panel()}`);
  }

  #draw(): void {
    if (this.#closed || !this.#dirty) {
      // The clock still moves: redraw once a second even without news.
      if (this.#closed || Math.floor(this.elapsed() / 200) % 5 !== 0) return;
    }
    this.#dirty = false;
    this.#out.write(`${this.#erasePanel()}${this.#panel()}`);
  }

  #panel(): string {
    const lines = renderPanel(this.model, this.elapsed(), this.#out.columns ?? 100, this.paint);
    this.#panelLines = lines.length;
    return `${lines.join('\n')}\n`;
  }
}
