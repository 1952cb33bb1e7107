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
 *
 * Operations with an unknown outcome never return, so they are kept out of the list,
 * in groups of interchangeable ones (see unknown-groups.ts), and tried after the known
 * ones, in a second pass over the candidates: those invoked by the time of the first
 * return in the list. Exploring with fewer unknown operations placed first is what
 * lets the memo cut the configurations that place more of them (see explored.ts), and
 * keeping them apart keeps those that are never placed out of the way of every step.
 */
import { callOf, EntryList, isCall, operationOf } from './entry-list.js';
import { ExploredConfigurations } from './explored.js';
import type { KeyHistory } from './key-histories.js';
import { LinearizedSet } from './linearized-set.js';
import { IMPOSSIBLE, type Call } from './models.js';
import { NO_GROUP, UnknownGroups } from './unknown-groups.js';
import { ValueObservers } from './value-observers.js';

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
  /** Its id in the memo. */
  readonly configuration: number;
  readonly stateBefore: number;
  readonly depth: number;
  readonly below: Placement | undefined;
}

class KeySearch {
  /** Entries of the known operations, numbered 0 to knownCount - 1 (as in KeyHistory). */
  private readonly knownEntries: EntryList;
  private readonly unknownGroups: UnknownGroups;
  private readonly knownCount: number;
  private readonly invokeTimes: Float64Array;
  private readonly responseTimes: Float64Array;
  private readonly linearized: LinearizedSet;
  private readonly explored = new ExploredConfigurations();
  private readonly observers: ValueObservers;
  private state: number;
  private top: Placement | undefined = undefined;
  private knownLeft: number;
  private longest: { readonly top: Placement | undefined; readonly state: number };
  /** Where the walk is: which pass, at which entry, and for the unknown pass, until
   * which invoke time calls are candidates. */
  private knownPass = true;
  private knownCursor: number;
  private unknownCursor = NO_GROUP;
  private unknownPassEnd = 0;

  constructor(private readonly history: KeyHistory) {
    const { operations, model, knownCount } = history;
    this.knownCount = knownCount;
    this.invokeTimes = Float64Array.from(operations, (operation) => operation.invokeTime);
    this.responseTimes = Float64Array.from(operations, (operation) => operation.responseTime);
    this.knownEntries = new EntryList(this.invokeTimes.subarray(0, knownCount), this.responseTimes.subarray(0, knownCount));
    const unknownOperations = Array.from({ length: operations.length - knownCount }, (_, index) => knownCount + index);
    this.unknownGroups = new UnknownGroups(unknownOperations, (operation) => history.calls[operation] as Call);
    this.linearized = new LinearizedSet(knownCount, operations.length - knownCount);
    this.state = model.initialState;
    this.knownLeft = knownCount;
    this.observers = new ValueObservers(history.values.size, history.calls);
    this.longest = { top: undefined, state: this.state };
    this.knownCursor = this.knownEntries.first();
  }

  run(deadline: () => boolean): KeySearchResult {
    for (let steps = 1; this.knownLeft > 0; steps += 1) {
      if (steps % stepsPerDeadlineCheck === 0 && deadline()) return { kind: 'timed out' };
      const moved = this.knownPass ? this.stepKnownPass() : this.stepUnknownPass();
      if (!moved) return this.violation();
    }
    return { kind: 'linearizable' };
  }

  private stepKnownPass(): boolean {
    const entry = this.knownCursor;
    if (isCall(entry)) {
      if (!this.tryToPlace(operationOf(entry))) this.knownCursor = this.knownEntries.after(entry);
      return true;
    }
    // The first return: every known candidate has been tried.
    this.knownPass = false;
    this.unknownCursor = this.unknownGroups.first();
    this.unknownPassEnd = this.responseTimes[operationOf(entry)] as number;
    return true;
  }

  /** Returns false when the search is over: nothing is left to try or to undo. */
  private stepUnknownPass(): boolean {
    const group = this.unknownCursor;
    if (group === NO_GROUP) return this.backtrack();
    const operation = this.unknownGroups.nextOf(group);
    const invoked = (this.invokeTimes[operation] as number) <= this.unknownPassEnd;
    if (!(invoked && this.tryToPlace(operation))) this.unknownCursor = this.unknownGroups.after(group);
    return true;
  }

  /** Undoes the latest placement and resumes the walk after it. */
  private backtrack(): boolean {
    if (this.top === undefined) return false;
    const undone = this.undoLatest();
    this.knownPass = this.isKnown(undone);
    if (this.knownPass) {
      this.knownCursor = this.knownEntries.after(callOf(undone));
    } else {
      this.unknownCursor = this.unknownGroups.after(this.unknownGroups.groupOfOperation(undone));
      this.unknownPassEnd = this.firstReturnTime();
    }
    return true;
  }

  private restartFromHead(): void {
    this.knownPass = true;
    this.knownCursor = this.knownEntries.first();
  }

  /** The time of the first return in the known list (there is one while known
   * operations are left). */
  private firstReturnTime(): number {
    let entry = this.knownEntries.first();
    while (isCall(entry)) entry = this.knownEntries.after(entry);
    return this.responseTimes[operationOf(entry)] as number;
  }

  private isKnown(operation: number): boolean {
    return operation < this.knownCount;
  }

  private lift(operation: number): void {
    if (this.isKnown(operation)) this.knownEntries.lift(operation);
    else this.unknownGroups.placed(operation);
  }

  private unlift(operation: number): void {
    if (this.isKnown(operation)) this.knownEntries.unlift(operation);
    else this.unknownGroups.unplaced(operation);
  }

  /** Linearizes `operation` next, unless the model forbids it or the configuration it
   * leads to was explored before. */
  private tryToPlace(operation: number): boolean {
    const call = this.history.calls[operation] as Call;
    const next = this.history.model.step(this.state, call);
    if (next === IMPOSSIBLE || (!call.known && this.isPointless(next))) return false;
    this.linearized.add(operation);
    const configuration = this.explored.add(this.linearized, next);
    if (configuration < 0) {
      this.linearized.remove(operation);
      return false;
    }
    this.lift(operation);
    if (call.known) this.knownLeft -= 1;
    this.observers.placed(call);
    const depth = (this.top?.depth ?? 0) + 1;
    this.top = { operation, configuration, stateBefore: this.state, depth, below: this.top };
    this.state = next;
    if (depth > (this.longest.top?.depth ?? 0)) this.longest = { top: this.top, state: next };
    this.restartFromHead();
    return true;
  }

  /**
   * Whether placing an operation of unknown outcome now, which would leave the key in
   * `next`, is pointless: it must leave the key changed, and in a value some operation
   * still to place looks for. Otherwise the operations after it cannot tell it
   * happened (a read or cas could not see the value, and a write erases it), so not
   * placing it, which an unknown outcome allows, does as well. Without this rule, every
   * unknown write that a later write overwrote unseen would be tried again at every
   * backtracking point.
   */
  private isPointless(next: number): boolean {
    return next === this.state || !this.observers.anyLeftFor(next);
  }

  /** Takes the latest placement back; returns its operation. */
  private undoLatest(): number {
    const placed = this.top!;
    this.explored.finish(placed.configuration);
    this.top = placed.below;
    this.state = placed.stateBefore;
    this.linearized.remove(placed.operation);
    this.unlift(placed.operation);
    const call = this.history.calls[placed.operation] as Call;
    if (call.known) this.knownLeft += 1;
    this.observers.unplaced(call);
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
    let blocked = -1;
    this.responseTimes.forEach((responseTime, index) => {
      if (inPrefix.has(index)) return;
      if (blocked < 0 || responseTime < (this.responseTimes[blocked] as number)) blocked = index;
    });
    return blocked;
  }
}
