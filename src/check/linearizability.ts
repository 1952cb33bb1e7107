/**
 * The linearizability checker: is there an order of the history's operations that
 * respects real time (an operation that returned before another was invoked comes
 * first) and that the sequential model accepts (Herlihy & Wing 1990)? Each key is
 * searched on its own (see key-histories.ts) with Wing & Gong's search and Lowe's memo
 * (see key-search.ts).
 */
import { pairOperations, type HistoryEvent, type Operation } from './history.js';
import { splitByKey, type KeyHistory } from './key-histories.js';
import { searchKey } from './key-search.js';

export interface CheckOptions {
  /** Returns true once time is up; looked at periodically during the search. */
  deadline?: () => boolean;
}

/** `keys` and `operations` count the whole history (operations: invokes). */
export type CheckResult =
  | { readonly status: 'linearizable'; readonly keys: number; readonly operations: number }
  | {
      readonly status: 'not linearizable';
      readonly keys: number;
      readonly operations: number;
      readonly key: string;
      /** The first operation that cannot be placed: of those outside the longest
       * linearizable prefix found, the one that returned first. */
      readonly operation: Operation;
      /** The longest linearization found of a part of the key's history, in order. */
      readonly longestPrefix: readonly Operation[];
      /** The key's value after that prefix (null: absent). */
      readonly valueAfterPrefix: unknown;
    }
  | { readonly status: 'unknown'; readonly reason: string; readonly keys: number; readonly operations: number };

/** Checks events as produced by a client or the simulator; throws a HistoryError when
 * they do not form a history (see pairOperations). */
export function checkHistory(events: readonly HistoryEvent[], options: CheckOptions = {}): CheckResult {
  return checkOperations(pairOperations(events), options);
}

/** Checks keys in order of first appearance and stops at the first violation. */
export function checkOperations(operations: readonly Operation[], options: CheckOptions = {}): CheckResult {
  const keyHistories = splitByKey(operations);
  const counts = { keys: keyHistories.length, operations: operations.length };
  const deadline = options.deadline ?? ((): boolean => false);
  for (const [checked, history] of keyHistories.entries()) {
    const found = deadline() ? { kind: 'timed out' as const } : searchKey(history, deadline);
    if (found.kind === 'timed out') {
      return { status: 'unknown', reason: timedOutReason(history, checked, keyHistories.length), ...counts };
    }
    if (found.kind === 'not linearizable') {
      return {
        status: 'not linearizable',
        ...counts,
        key: history.key,
        operation: history.operations[found.blocked] as Operation,
        longestPrefix: found.longestPrefix.map((index) => history.operations[index] as Operation),
        valueAfterPrefix: history.values.valueOf(found.stateAfterPrefix),
      };
    }
  }
  return { status: 'linearizable', ...counts };
}

function timedOutReason(history: KeyHistory, checked: number, total: number): string {
  return `timed out while checking key ${JSON.stringify(history.key)}; ${checked} of ${total} keys checked`;
}
