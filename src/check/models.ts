/**
 * Sequential specifications of one key (the "sequential object" of Herlihy & Wing
 * 1990). The search checks a key's history against one of these. A state is the id of
 * the key's current value in the key's ValueTable (NULL_VALUE: null, or absent).
 */
import { registerOperations, type OperationName } from './history.js';
import { NULL_VALUE } from './values.js';

/** An operation ready for a model: its values are ids in the key's ValueTable. */
export interface Call {
  readonly f: OperationName;
  /** False when the outcome is unknown: the call may have taken effect or not. */
  readonly known: boolean;
  /** write/put: the value written; cas: the expected value. */
  readonly argument: number;
  /** cas: the new value. */
  readonly replacement: number;
  /** read/get: the value returned. */
  readonly observed: number;
}

/** What `step` returns for a call that cannot happen in the given state. */
export const IMPOSSIBLE = -1;

export interface Model {
  readonly name: string;
  readonly initialState: number;
  /** The state after `call` happens in `state`, or IMPOSSIBLE. */
  step(state: number, call: Call): number;
}

/** read, write and cas on a single value. */
export const registerModel: Model = {
  name: 'register',
  initialState: NULL_VALUE,
  step(state, call) {
    switch (call.f) {
      case 'read':
        return call.observed === state ? state : IMPOSSIBLE;
      case 'write':
        return call.argument;
      case 'cas':
        return compareAndSet(state, call);
      default:
        throw new TypeError(`the register model has no operation ${call.f}`);
    }
  },
};

/** get, put and delete on one entry of a map; absent reads as null. */
export const keyValueModel: Model = {
  name: 'key-value',
  initialState: NULL_VALUE,
  step(state, call) {
    switch (call.f) {
      case 'get':
        return call.observed === state ? state : IMPOSSIBLE;
      case 'put':
        return call.argument;
      case 'delete':
        return NULL_VALUE;
      default:
        throw new TypeError(`the key-value model has no operation ${call.f}`);
    }
  },
};

/**
 * A cas that answered ok found the expected value. One with an unknown outcome may
 * have run and found another value, leaving the state as it was, so it is possible in
 * every state (as in Porcupine's etcd model); that is what lets the search place it
 * anywhere after its invoke.
 */
function compareAndSet(state: number, call: Call): number {
  if (state === call.argument) return call.replacement;
  return call.known ? IMPOSSIBLE : state;
}

/** The value a read or cas looks for: what the read returned, what the cas expects. */
export function valueLookedFor(call: Call): number | undefined {
  switch (call.f) {
    case 'read':
    case 'get':
      return call.observed;
    case 'cas':
      return call.argument;
    default:
      return undefined;
  }
}

/** The value a call leaves when it changes the key. */
export function valueWritten(call: Call): number | undefined {
  switch (call.f) {
    case 'write':
    case 'put':
      return call.argument;
    case 'cas':
      return call.replacement;
    case 'delete':
      return NULL_VALUE;
    default:
      return undefined;
  }
}

/** The model for a key, from the operations used on it (a history keeps each key to
 * one kind, see pairOperations). */
export function modelFor(operation: OperationName): Model {
  return registerOperations.includes(operation) ? registerModel : keyValueModel;
}
