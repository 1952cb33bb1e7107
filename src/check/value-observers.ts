/**
 * How many operations not yet linearized still look for each value: reads that
 * returned it, and cas operations that expect it. When none is left for a value,
 * putting the key in that value can lead to nothing that leaving it alone could not
 * (see KeySearch.isPointless).
 */
import { valueLookedFor, type Call } from './models.js';

export class ValueObservers {
  private readonly left: Int32Array;

  constructor(valueCount: number, calls: readonly Call[]) {
    this.left = new Int32Array(valueCount);
    for (const call of calls) this.count(call, 1);
  }

  anyLeftFor(value: number): boolean {
    return (this.left[value] as number) > 0;
  }

  /** `call` was linearized: it no longer looks for anything. */
  placed(call: Call): void {
    this.count(call, -1);
  }

  unplaced(call: Call): void {
    this.count(call, 1);
  }

  private count(call: Call, delta: number): void {
    const looksFor = valueLookedFor(call);
    if (looksFor !== undefined) this.left[looksFor] = (this.left[looksFor] as number) + delta;
  }
}
