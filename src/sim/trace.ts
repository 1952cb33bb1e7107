import { assert } from '../lib/index.js';
import { Hasher, hex } from './hash.js';

/**
 * The record of one simulated run. Every event is folded into a fingerprint (always,
 * it is cheap: numbers only), and, when tracing is on, also written as a readable line
 * into a ring buffer that keeps the last `linesMax` lines. Formatting lines costs far
 * more than the run itself, so the line is built by a callback only when tracing is on;
 * a failing seed is simply replayed with tracing on to get its story.
 */
export class Trace {
  private readonly hasher = new Hasher();
  private readonly lines: string[] = [];
  private head = 0; // index of the oldest line once the buffer is full
  private droppedLinesCount = 0;

  constructor(
    readonly enabled: boolean,
    private readonly linesMax: number,
  ) {
    assert(linesMax > 0, 'trace needs room for at least one line');
  }

  /**
   * Records one event at `step`. `code` and `values` go into the fingerprint; `line`
   * is called for the readable form only when tracing is on.
   */
  event(step: number, code: number, values: readonly number[], line: () => string): void {
    this.hasher.number(step).number(code);
    for (const value of values) this.hasher.number(value);
    if (this.enabled) this.push(`${String(step).padStart(6)} ${line()}`);
  }

  /** A free-form line (tracing only), e.g. a violation's explanation. */
  note(step: number, line: () => string): void {
    if (this.enabled) this.push(`${String(step).padStart(6)} ${line()}`);
  }

  fingerprint(): string {
    return hex(this.hasher.digest());
  }

  /** The kept lines, oldest first, prefixed by a note when older lines were dropped. */
  text(): string {
    const kept = this.lines.length < this.linesMax ? this.lines : [...this.lines.slice(this.head), ...this.lines.slice(0, this.head)];
    const prefix = this.droppedLinesCount > 0 ? [`  (${this.droppedLinesCount} earlier lines dropped; ring buffer keeps ${this.linesMax})`] : [];
    return [...prefix, ...kept].join('\n');
  }

  private push(line: string): void {
    if (this.lines.length < this.linesMax) {
      this.lines.push(line);
      return;
    }
    this.lines[this.head] = line;
    this.head = (this.head + 1) % this.linesMax;
    this.droppedLinesCount += 1;
  }
}
