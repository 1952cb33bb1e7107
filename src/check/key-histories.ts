/**
 * Splits a history by key. Linearizability is local (Herlihy & Wing 1990, Theorem 1):
 * a history is linearizable exactly when each key's subhistory is, so each key is
 * searched on its own ("P-compositionality", Horn & Kroening 2015), which keeps every
 * search small.
 */
import type { Operation } from './history.js';
import { modelFor, valueLookedFor, valueWritten, type Call, type Model } from './models.js';
import { ValueTable } from './values.js';

export interface KeyHistory {
  readonly key: string;
  readonly model: Model;
  readonly values: ValueTable;
  /**
   * The operations to linearize; `calls[i]` is `operations[i]` for the model. Those
   * with a known outcome come first, `knownCount` of them, then those with an unknown
   * one, each group in invoke order (the order LinearizedSet keeps compact).
   */
  readonly operations: readonly Operation[];
  readonly calls: readonly Call[];
  readonly knownCount: number;
}

/** Keys in order of first appearance. */
export function splitByKey(operations: readonly Operation[]): KeyHistory[] {
  const byKey = new Map<string, Operation[]>();
  for (const operation of operations) {
    if (!byKey.has(operation.key)) byKey.set(operation.key, []);
    if (mustBePlaced(operation)) byKey.get(operation.key)?.push(operation);
  }
  return [...byKey].map(([key, kept]) => keyHistory(key, kept));
}

/**
 * A failed operation did not happen, so it is left out. A read with an unknown outcome
 * returned nothing and changed nothing, so it constrains nothing and is left out too.
 * (keyHistory also leaves out the writes with an unknown outcome whose value no read or
 * cas looks for: nothing could tell whether they happened.)
 */
function mustBePlaced(operation: Operation): boolean {
  if (operation.outcome === 'fail') return false;
  const isRead = operation.f === 'read' || operation.f === 'get';
  return !(isRead && operation.outcome === 'unknown');
}

function keyHistory(key: string, kept: Operation[]): KeyHistory {
  const values = new ValueTable();
  const withCalls = kept.map((operation) => ({ operation, call: toCall(operation, values) }));
  const lookedFor = new Set(withCalls.map(({ call }) => valueLookedFor(call)));
  const known = withCalls.filter(({ call }) => call.known);
  const unknown = withCalls.filter(({ call }) => !call.known && lookedFor.has(valueWritten(call)));
  const ordered = [...known, ...unknown];
  return {
    key,
    model: modelFor(kept[0]?.f ?? 'read'),
    values,
    operations: ordered.map(({ operation }) => operation),
    calls: ordered.map(({ call }) => call),
    knownCount: known.length,
  };
}

function toCall(operation: Operation, values: ValueTable): Call {
  const known = operation.outcome === 'ok';
  switch (operation.f) {
    case 'read':
    case 'get':
      return { f: operation.f, known, argument: 0, replacement: 0, observed: values.idOf(operation.output) };
    case 'cas': {
      const [expected, replacement] = operation.input as [unknown, unknown];
      return { f: 'cas', known, argument: values.idOf(expected), replacement: values.idOf(replacement), observed: 0 };
    }
    default:
      return { f: operation.f, known, argument: values.idOf(operation.input), replacement: 0, observed: 0 };
  }
}
