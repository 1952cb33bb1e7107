/**
 * The search for a linearization of one key's history: Wing & Gong's algorithm (Wing &
 * Gong 1993) with Lowe's memo (Lowe 2017), the method of Knossos and Porcupine.
 *
 * Walk the entry list from its head. At a call entry, try to linearize that operation
 * now: if the model allows it and the resulting configuration is new, lift it out of the
 * list and start again from the head. At a return entry, the operation it belongs to
 * had to take effect before this point but nothing placed so far lets it: undo the
 * latest placement and try the next candidate after it. The history is linearizable
 * once every operation with a known outcome is placed (the rest may be placed last,
 * which is the same as never having happened); it is not once nothing is left to undo.
 */
import { callOf, EntryList, isCall, operationOf } from './entry-list.js';
import { ExploredConfigurations } from './explored.js';
import type { Operation } from './history.js';
import type { KeyHistory } from './key-histories.js';
import { LinearizedSet } from './linearized-set.js';
import { IMPOSSIBLE } from './models.js';

export type KeySearchResult =
  | { readonly kind: 'linearizable' }
  | {
      readonly kind: 'not linearizable';
      /** The longest linearization of a part of the history found, in order. */
      readonly longestPrefix: readonly number[];
      readonly stateAfterPrefix: number;
      /** Of the operations outside that prefix, the one that had to take effect first. */
      readonly blocked: number;
    }
  | { readonly kind: 'timed out' };

/** Steps between two looks at the deadline: often enough for a timely stop, rarely
 * enough that the look costs nothing. */
const stepsPerDeadlineCheck = 1024;

export function searchKey(history: KeyHistory, deadline: () => boolean): KeySearchResult {
  return new KeySearch(history).run(deadline);
}

/** One placement on the search stack. The stack is a persistent linked list so the
 * longest prefix can be remembered by keeping a pointer, without copying. */
interface Placement {
  readonly operation: number;
  readonly stateBefore: number;
  readonly depth: number;
  readonly below: Placement | undefined;
}

class KeySearch {
  private readonly entries: EntryList;
  private readonly linearized: LinearizedSet;
  private readonly explored = new ExploredConfigurations();
  private state: number;
  private top: Placement | undefined = undefined;
  private knownLeft: number;
  private longest: { readonly top: Placement | undefined; readonly state: number };

  constructor(private readonly history: KeyHistory) {
    const { operations, model, knownCount } = history;
    this.entries = new EntryList(
      operations.map((operation) => operation.invokeTime),
      operations.map((operation) => operation.responseTime),
    );
    this.linearized = new LinearizedSet([knownCount, operations.length - knownCount]);
    this.state = model.initialState;
    this.knownLeft = knownCount;
    this.longest = { top: undefined, state: this.state };
  }

  run(deadline: () => boolean): KeySearchResult {
    let entry = this.entries.first();
    for (let steps = 1; this.knownLeft > 0; steps += 1) {
      if (steps % stepsPerDeadlineCheck === 0 && deadline()) return { kind: 'timed out' };
      if (isCall(entry)) {
        entry = this.tryToPlace(operationOf(entry)) ? this.entries.first() : this.entries.after(entry);
      } else if (this.top === undefined) {
        return this.violation();
      } else {
        entry = this.entries.after(callOf(this.undoLatest()));
      }
    }
    return { kind: 'linearizable' };
  }

  /** Linearizes `operation` next, unless the model forbids it or the configuration it
   * leads to was explored before. */
  private tryToPlace(operation: number): boolean {
    const call = this.history.calls[operation];
    const next = this.history.model.step(this.state, call);
    if (next === IMPOSSIBLE) return false;
    this.linearized.add(operation);
    if (!this.explored.add(this.linearized, next)) {
      this.linearized.remove(operation);
      return false;
    }
    this.entries.lift(operation);
    if (call.known) this.knownLeft -= 1;
    const depth = (this.top?.depth ?? 0) + 1;
    this.top = { operation, stateBefore: this.state, depth, below: this.top };
    this.state = next;
    if (depth > (this.longest.top?.depth ?? 0)) this.longest = { top: this.top, state: next };
    return true;
  }

  /** Takes the latest placement back; returns its operation. */
  private undoLatest(): number {
    const placed = this.top!;
    this.top = placed.below;
    this.state = placed.stateBefore;
    this.linearized.remove(placed.operation);
    this.entries.unlift(placed.operation);
    if (this.history.calls[placed.operation].known) this.knownLeft += 1;
    return placed.operation;
  }

  private violation(): KeySearchResult {
    const longestPrefix: number[] = [];
    for (let placed = this.longest.top; placed !== undefined; placed = placed.below) longestPrefix.push(placed.operation);
    longestPrefix.reverse();
    return { kind: 'not linearizable', longestPrefix, stateAfterPrefix: this.longest.state, blocked: this.firstToReturnOutside(longestPrefix) };
  }

  /** The operation that cannot be placed, as Knossos and Porcupine report it: the
   * earliest-returning one not in the longest prefix. */
  private firstToReturnOutside(prefix: readonly number[]): number {
    const inPrefix = new Set(prefix);
    const { operations } = this.history;
    let blocked = -1;
    operations.forEach((operation, index) => {
      if (inPrefix.has(index)) return;
      if (blocked < 0 || operation.responseTime < (operations[blocked] as Operation).responseTime) blocked = index;
    });
    return blocked;
  }
}
