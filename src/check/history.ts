/**
 * The history format the checker reads: one event per line, each a JSON object.
 * An "invoke" starts an operation; the next "ok", "fail" or "info" of the same process
 * completes it ("info" means the outcome is unknown: the client timed out or crashed).
 * Without `time` fields, line order is time.
 *
 *   {"process":1,"type":"invoke","f":"write","key":"x","value":3}
 *   {"process":1,"type":"ok","f":"write","key":"x","value":3}
 *   {"process":2,"type":"invoke","f":"cas","key":"x","value":[3,4]}
 *   {"process":2,"type":"info","f":"cas","key":"x","value":[3,4]}
 */

export type HistoryEventType = 'invoke' | 'ok' | 'fail' | 'info';
export type OperationName = 'read' | 'write' | 'cas' | 'put' | 'get' | 'delete';

export interface HistoryEvent {
  process: number;
  type: HistoryEventType;
  f: OperationName;
  key: string;
  value: unknown;
  time?: number;
}

/** Whether an operation took effect: "fail" says it did not, "info" (or no
 * completion at all) says nothing. */
export type Outcome = 'ok' | 'fail' | 'unknown';

/** An invoke paired with its completion. */
export interface Operation {
  readonly process: number;
  readonly f: OperationName;
  readonly key: string;
  /** The invoke's value: the value written, cas's [expected, new], null for reads. */
  readonly input: unknown;
  /** The completion's value when the outcome is "ok" (what a read returned), else undefined. */
  readonly output: unknown;
  readonly outcome: Outcome;
  readonly invokeTime: number;
  /** +Infinity when the outcome is unknown: the operation may take effect at any
   * point after its invoke, however late. */
  readonly responseTime: number;
  /** The time of the completion event, "info" included; undefined when there is none. */
  readonly completionTime: number | undefined;
  /** Positions of the invoke and of the completion in the event list (the
   * completion's is undefined when the operation never completed). */
  readonly invokeEvent: number;
  readonly completionEvent: number | undefined;
}

/** A key is either a register or an entry of a key-value map; one history may use both
 * kinds, each key only one. */
export const registerOperations: readonly OperationName[] = ['read', 'write', 'cas'];
export const keyValueOperations: readonly OperationName[] = ['put', 'get', 'delete'];

const eventTypes: readonly HistoryEventType[] = ['invoke', 'ok', 'fail', 'info'];
const operationNames: readonly OperationName[] = [...registerOperations, ...keyValueOperations];

/** Bad input, located: `location` is "line 7" for a file, "event 7" for events in memory. */
export class HistoryError extends Error {
  override name = 'HistoryError';
  constructor(
    readonly location: string,
    readonly problem: string,
  ) {
    super(`${location}: ${problem}`);
  }
}

/** Names an event for error messages, given its position in the event list. */
export type EventNamer = (eventIndex: number) => string;

const nameByPosition: EventNamer = (eventIndex) => `event ${eventIndex + 1}`;

export interface ParsedHistory {
  readonly events: HistoryEvent[];
  /** The 1-based line of each event (blank lines are skipped). */
  readonly lineNumbers: number[];
}

export function parseHistory(text: string): HistoryEvent[] {
  return parseHistoryWithLines(text).events;
}

/** Parses and validates every line; throws a HistoryError naming the first bad line. */
export function parseHistoryWithLines(text: string): ParsedHistory {
  const events: HistoryEvent[] = [];
  const lineNumbers: number[] = [];
  text.split('\n').forEach((line, index) => {
    if (line.trim() === '') return;
    events.push(parseEventLine(line, `line ${index + 1}`));
    lineNumbers.push(index + 1);
  });
  pairOperations(events, (eventIndex) => `line ${lineNumbers[eventIndex]}`);
  return { events, lineNumbers };
}

function parseEventLine(line: string, location: string): HistoryEvent {
  let parsed: unknown;
  try {
    parsed = JSON.parse(line);
  } catch (error) {
    throw new HistoryError(location, `bad JSON (${(error as Error).message})`);
  }
  return validateEvent(parsed, location);
}

/** Checks the fields of one event; cross-event rules are checked by pairOperations. */
function validateEvent(candidate: unknown, location: string): HistoryEvent {
  if (typeof candidate !== 'object' || candidate === null || Array.isArray(candidate)) {
    throw new HistoryError(location, 'expected a JSON object');
  }
  const event = candidate as Record<string, unknown>;
  const fail = (problem: string): never => {
    throw new HistoryError(location, problem);
  };
  for (const field of ['process', 'type', 'f', 'key', 'value']) {
    if (event[field] === undefined) fail(`missing field "${field}"`);
  }
  if (!Number.isSafeInteger(event.process)) fail(`"process" must be an integer, got ${show(event.process)}`);
  if (!eventTypes.includes(event.type as HistoryEventType)) {
    fail(`"type" must be one of ${eventTypes.join(', ')}, got ${show(event.type)}`);
  }
  if (!operationNames.includes(event.f as OperationName)) {
    fail(`"f" must be one of ${operationNames.join(', ')}, got ${show(event.f)}`);
  }
  if (typeof event.key !== 'string') fail(`"key" must be a string, got ${show(event.key)}`);
  if (event.time !== undefined && !Number.isFinite(event.time)) fail(`"time" must be a number, got ${show(event.time)}`);
  if (event.type === 'invoke' && event.f === 'cas' && !(Array.isArray(event.value) && event.value.length === 2)) {
    fail(`a cas invoke's "value" must be [expected, new], got ${show(event.value)}`);
  }
  const { process, type, f, key, value, time } = event as {
    process: number;
    type: HistoryEventType;
    f: OperationName;
    key: string;
    value: unknown;
    time?: number;
  };
  return time === undefined ? { process, type, f, key, value } : { process, type, f, key, value, time };
}

function show(value: unknown): string {
  return value === undefined ? 'nothing' : JSON.stringify(value);
}

interface OpenInvoke {
  readonly event: HistoryEvent;
  readonly eventIndex: number;
  /** Where its operation sits in the result. */
  readonly slot: number;
}

/**
 * Pairs each invoke with the completion of the same process that follows it, checking
 * the rules that span events: a completion needs an open invoke with the same f and
 * key, a process has one open invoke at a time, `time` is on every event or on none
 * and never runs backwards within an operation, and a key keeps to one kind of
 * operations. Returns the operations in invoke order.
 */
export function pairOperations(events: readonly HistoryEvent[], nameEvent: EventNamer = nameByPosition): Operation[] {
  events.forEach((event, eventIndex) => validateEvent(event, nameEvent(eventIndex)));
  checkTimesPresentEverywhereOrNowhere(events, nameEvent);
  checkOneKindPerKey(events, nameEvent);
  const timeOf = (eventIndex: number): number => events[eventIndex]?.time ?? eventIndex;
  const open = new Map<number, OpenInvoke>();
  const operations: Operation[] = [];
  events.forEach((event, eventIndex) => {
    const where = nameEvent(eventIndex);
    const pending = open.get(event.process);
    if (event.type === 'invoke') {
      if (pending) {
        throw new HistoryError(where, `process ${event.process} invokes again while its invoke at ${nameEvent(pending.eventIndex)} is still open`);
      }
      open.set(event.process, { event, eventIndex, slot: operations.length });
      operations.push(uncompleted(event, eventIndex, timeOf(eventIndex)));
      return;
    }
    if (!pending) throw new HistoryError(where, `"${event.type}" for process ${event.process}, which has no open invoke`);
    checkCompletionMatches(pending, event, eventIndex, nameEvent);
    open.delete(event.process);
    operations[pending.slot] = completed(operations[pending.slot] as Operation, event, eventIndex, timeOf(eventIndex));
  });
  return operations;
}

function uncompleted(invoke: HistoryEvent, eventIndex: number, time: number): Operation {
  return {
    process: invoke.process,
    f: invoke.f,
    key: invoke.key,
    input: invoke.value,
    output: undefined,
    outcome: 'unknown',
    invokeTime: time,
    responseTime: Number.POSITIVE_INFINITY,
    completionTime: undefined,
    invokeEvent: eventIndex,
    completionEvent: undefined,
  };
}

function completed(operation: Operation, completion: HistoryEvent, eventIndex: number, time: number): Operation {
  const known = completion.type === 'ok' || completion.type === 'fail';
  return {
    ...operation,
    output: completion.type === 'ok' ? completion.value : undefined,
    outcome: completion.type === 'ok' ? 'ok' : completion.type === 'fail' ? 'fail' : 'unknown',
    responseTime: known ? time : Number.POSITIVE_INFINITY,
    completionTime: time,
    completionEvent: eventIndex,
  };
}

function checkCompletionMatches(pending: OpenInvoke, completion: HistoryEvent, eventIndex: number, nameEvent: EventNamer): void {
  const where = nameEvent(eventIndex);
  const invokeWhere = nameEvent(pending.eventIndex);
  if (completion.f !== pending.event.f || completion.key !== pending.event.key) {
    throw new HistoryError(
      where,
      `completes ${completion.f} of key ${JSON.stringify(completion.key)}, but the open invoke of process ${completion.process} (${invokeWhere}) is ${pending.event.f} of key ${JSON.stringify(pending.event.key)}`,
    );
  }
  if (completion.time !== undefined && pending.event.time !== undefined && completion.time < pending.event.time) {
    throw new HistoryError(where, `"time" ${completion.time} is before the time of its invoke (${invokeWhere}, ${pending.event.time})`);
  }
}

function checkTimesPresentEverywhereOrNowhere(events: readonly HistoryEvent[], nameEvent: EventNamer): void {
  const timed = events[0]?.time !== undefined;
  const odd = events.findIndex((event) => (event.time !== undefined) !== timed);
  if (odd < 0) return;
  const problem = timed ? `missing "time", which ${nameEvent(0)} has` : `has "time", which ${nameEvent(0)} lacks`;
  throw new HistoryError(nameEvent(odd), `${problem}; give every event a time or none`);
}

function checkOneKindPerKey(events: readonly HistoryEvent[], nameEvent: EventNamer): void {
  const firstUse = new Map<string, number>();
  events.forEach((event, eventIndex) => {
    const first = firstUse.get(event.key);
    if (first === undefined) {
      firstUse.set(event.key, eventIndex);
      return;
    }
    const firstEvent = events[first] as HistoryEvent;
    if (registerOperations.includes(event.f) !== registerOperations.includes(firstEvent.f)) {
      throw new HistoryError(
        nameEvent(eventIndex),
        `${event.f} on key ${JSON.stringify(event.key)}, which ${nameEvent(first)} used with ${firstEvent.f}; a key is either a register (read, write, cas) or a key-value entry (put, get, delete)`,
      );
    }
  });
}
