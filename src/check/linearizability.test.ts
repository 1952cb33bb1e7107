import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Prng } from '../lib/prng.js';
import { pairOperations, type HistoryEvent, type Operation } from './history.js';
import { events } from './history-notation.test-support.js';
import { checkHistory, checkOperations, type CheckResult } from './linearizability.js';
import { randomHistory, type RandomHistoryOptions } from './random-history.js';
import { canonicalJson } from './values.js';

function statusOf(text: string): CheckResult['status'] {
  return checkHistory(events(text)).status;
}

function violationOf(text: string): Extract<CheckResult, { status: 'not linearizable' }> {
  const result = checkHistory(events(text));
  assert.equal(result.status, 'not linearizable');
  return result as Extract<CheckResult, { status: 'not linearizable' }>;
}

test('an empty history is linearizable', () => {
  assert.deepEqual(checkHistory([]), { status: 'linearizable', keys: 0, operations: 0 });
});

test('a read after a write sees it', () => {
  const text = `
    1 invoke write x 1
    1 ok write x 1
    2 invoke read x null
    2 ok read x 1
  `;
  assert.deepEqual(checkHistory(events(text)), { status: 'linearizable', keys: 1, operations: 2 });
});

test('a stale read is caught and reported with its key, prefix and value', () => {
  const violation = violationOf(`
    1 invoke write x 1
    1 ok write x 1
    1 invoke write x 2
    1 ok write x 2
    2 invoke read x null
    2 ok read x 1
  `);
  assert.equal(violation.key, 'x');
  assert.equal(violation.operation.process, 2);
  assert.equal(violation.operation.f, 'read');
  assert.equal(violation.operation.output, 1);
  assert.equal(violation.operation.invokeEvent, 4);
  assert.deepEqual(
    violation.longestPrefix.map((operation) => operation.input),
    [1, 2],
  );
  assert.equal(violation.valueAfterPrefix, 2);
});

test('a lost write is caught', () => {
  const violation = violationOf(`
    1 invoke write x 1
    1 ok write x 1
    2 invoke read x null
    2 ok read x null
  `);
  assert.equal(violation.operation.process, 2);
  assert.equal(violation.valueAfterPrefix, 1);
});

test('operations that overlap may take effect in either order', () => {
  for (const seen of ['null', '1']) {
    const text = `
      1 invoke write x 1
      2 invoke read x null
      2 ok read x ${seen}
      1 ok write x 1
    `;
    assert.equal(statusOf(text), 'linearizable', `read of ${seen}`);
  }
  const concurrentWrites = (first: number, second: number): string => `
    1 invoke write x 1
    2 invoke write x 2
    1 ok write x 1
    2 ok write x 2
    3 invoke read x null
    3 ok read x ${first}
    3 invoke read x null
    3 ok read x ${second}
  `;
  assert.equal(statusOf(concurrentWrites(1, 1)), 'linearizable');
  assert.equal(statusOf(concurrentWrites(2, 2)), 'linearizable');
  assert.equal(statusOf(concurrentWrites(2, 1)), 'not linearizable', 'a value cannot come back once overwritten');
});

test('reads concurrent with each other must agree on one order of the writes', () => {
  // Two readers see the two writes in opposite orders.
  const text = `
    1 invoke write x 1
    2 invoke write x 2
    3 invoke read x null
    3 ok read x 1
    3 invoke read x null
    3 ok read x 2
    4 invoke read x null
    4 ok read x 2
    4 invoke read x null
    4 ok read x 1
    1 ok write x 1
    2 ok write x 2
  `;
  assert.equal(statusOf(text), 'not linearizable');
});

test('cas succeeds only on the expected value', () => {
  assert.equal(statusOf('1 invoke write x 1\n1 ok write x 1\n2 invoke cas x [1,2]\n2 ok cas x [1,2]\n3 invoke read x null\n3 ok read x 2'), 'linearizable');
  assert.equal(statusOf('1 invoke write x 1\n1 ok write x 1\n2 invoke cas x [3,4]\n2 ok cas x [3,4]'), 'not linearizable');
  assert.equal(statusOf('1 invoke cas x [null,1]\n1 ok cas x [null,1]'), 'linearizable', 'the initial value is null');
});

test('two cas operations cannot both succeed from the same value', () => {
  const text = `
    1 invoke cas x [null,1]
    2 invoke cas x [null,2]
    1 ok cas x [null,1]
    2 ok cas x [null,2]
  `;
  assert.equal(statusOf(text), 'not linearizable');
});

test('cas compares JSON values structurally', () => {
  const text = `
    1 invoke write x {"a":1,"b":[2]}
    1 ok write x {"a":1,"b":[2]}
    2 invoke cas x [{"b":[2],"a":1},"done"]
    2 ok cas x [{"b":[2],"a":1},"done"]
    3 invoke read x null
    3 ok read x "done"
  `;
  assert.equal(statusOf(text), 'linearizable');
});

test('a failed operation did not happen', () => {
  const text = `
    1 invoke write x 1
    1 fail write x 1
    2 invoke read x null
    2 ok read x 1
  `;
  assert.equal(statusOf(text), 'not linearizable');
  assert.equal(statusOf('1 invoke cas x [null,1]\n1 fail cas x [null,1]\n2 invoke read x null\n2 ok read x null'), 'linearizable');
});

test('an operation with an unknown outcome may have taken effect, or not', () => {
  for (const completion of ['1 info write x 1', '']) {
    for (const seen of ['1', 'null']) {
      const text = `
        1 invoke write x 1
        ${completion}
        2 invoke read x null
        2 ok read x ${seen}
      `;
      assert.equal(statusOf(text), 'linearizable', `${completion || 'never completed'}, read of ${seen}`);
    }
  }
});

test('an operation with an unknown outcome may take effect long after its invoke', () => {
  const text = `
    1 invoke write x 1
    1 info write x 1
    2 invoke write x 2
    2 ok write x 2
    2 invoke read x null
    2 ok read x 2
    2 invoke read x null
    2 ok read x 1
  `;
  assert.equal(statusOf(text), 'linearizable');
});

test('an operation with an unknown outcome takes effect once at most', () => {
  const text = `
    1 invoke write x 1
    1 info write x 1
    2 invoke read x null
    2 ok read x 1
    2 invoke read x null
    2 ok read x null
  `;
  assert.equal(statusOf(text), 'not linearizable');
});

test('a cas with an unknown outcome may have swapped, or not', () => {
  for (const seen of ['1', 'null']) {
    assert.equal(statusOf(`1 invoke cas x [null,1]\n1 info cas x [null,1]\n2 invoke read x null\n2 ok read x ${seen}`), 'linearizable');
  }
  assert.equal(
    statusOf('1 invoke cas x [5,1]\n1 info cas x [5,1]\n2 invoke read x null\n2 ok read x 1'),
    'not linearizable',
    'it cannot swap from a value the key never had',
  );
});

test('a read with an unknown outcome tells nothing', () => {
  assert.equal(statusOf('1 invoke read x null\n1 info read x 7'), 'linearizable');
});

test('key-value: put, get and delete', () => {
  const text = (last: string): string => `
    1 invoke put k "a"
    1 ok put k "a"
    2 invoke get k null
    2 ok get k "a"
    1 invoke delete k null
    1 ok delete k null
    2 invoke get k null
    2 ok get k ${last}
  `;
  assert.equal(statusOf(text('null')), 'linearizable');
  assert.equal(statusOf(text('"a"')), 'not linearizable', 'a get after a delete finds the key absent');
});

test('keys are checked separately and the violation names its key', () => {
  const violation = violationOf(`
    1 invoke write a 1
    2 invoke write b 1
    1 ok write a 1
    2 ok write b 1
    3 invoke read a null
    3 ok read a 1
    3 invoke read b null
    3 ok read b 2
  `);
  assert.equal(violation.key, 'b');
  assert.equal(violation.keys, 2);
  assert.equal(violation.operation.output, 2);
});

test('real time comes from the time fields when present', () => {
  // By line order the write ends before the read starts; by time they overlap.
  const text = `
    @10 1 invoke write x 1
    @50 1 ok write x 1
    @20 2 invoke read x null
    @30 2 ok read x null
  `;
  assert.equal(statusOf(text), 'linearizable');
  assert.equal(statusOf(text.replace('@20', '@60').replace('@30', '@70')), 'not linearizable');
});

test('operations whose times touch count as concurrent', () => {
  const text = `
    @10 1 invoke write x 1
    @20 1 ok write x 1
    @20 2 invoke read x null
    @30 2 ok read x null
  `;
  assert.equal(statusOf(text), 'linearizable');
});

test('the deadline turns the answer into unknown', () => {
  const result = checkHistory(events('1 invoke write x 1\n1 ok write x 1'), { deadline: () => true });
  assert.deepEqual(result, { status: 'unknown', reason: 'timed out while checking key "x"; 0 of 1 keys checked', keys: 1, operations: 1 });
});

const bruteForceShapes: { name: string; shape: SmallHistoryShape }[] = [
  { name: 'mostly known outcomes', shape: { operations: 8, processes: 3, completions: ['ok', 'ok', 'ok', 'ok', 'fail', 'info'] } },
  { name: 'many unknown outcomes', shape: { operations: 9, processes: 4, completions: ['ok', 'ok', 'info', 'info'] } },
];

for (const { name, shape } of bruteForceShapes) {
  test(`agrees with a brute-force search on small random histories: ${name}`, () => {
    const seeds = 700;
    let violations = 0;
    for (let seed = 1; seed <= seeds; seed += 1) {
      const operations = pairOperations(smallRandomHistory(new Prng(seed), shape));
      const expected = bruteForceLinearizable(operations);
      const result = checkOperations(operations);
      assert.equal(result.status, expected ? 'linearizable' : 'not linearizable', `seed ${seed}`);
      if (!expected) violations += 1;
    }
    assert.ok(violations > seeds / 10 && violations < seeds - seeds / 10, `both answers are exercised (${violations} violations)`);
  });
}

interface SmallHistoryShape {
  readonly operations: number;
  readonly processes: number;
  /** Drawn from at random to complete each operation. */
  readonly completions: readonly ('ok' | 'fail' | 'info')[];
}

/** A few operations on one register, with random values from a small set (so that
 * writes repeat values) and random results; some operations are left open. */
function smallRandomHistory(prng: Prng, shape: SmallHistoryShape): HistoryEvent[] {
  const history: HistoryEvent[] = [];
  const open = new Map<number, HistoryEvent>();
  const value = (): unknown => prng.pick([null, 0, 1, 2]);
  for (let invoked = 0; invoked < shape.operations || (open.size > 0 && prng.chance(0.8)); ) {
    const process = prng.int(shape.processes);
    const invoke = open.get(process);
    if (invoke === undefined && invoked < shape.operations) {
      const f = prng.pick(['read', 'write', 'cas'] as const);
      const input = f === 'read' ? null : f === 'write' ? value() : [value(), value()];
      const event: HistoryEvent = { process, type: 'invoke', f, key: 'x', value: input };
      history.push(event);
      open.set(process, event);
      invoked += 1;
    } else if (invoke !== undefined) {
      const type = prng.pick(shape.completions);
      history.push({ ...invoke, type, value: invoke.f === 'read' && type === 'ok' ? value() : invoke.value });
      open.delete(process);
    }
  }
  return history;
}

/** Tries every order that respects real time; operations with an unknown outcome may
 * also be left out. Written independently of the checker, to check it. */
function bruteForceLinearizable(all: readonly Operation[]): boolean {
  const operations = all.filter((operation) => operation.outcome !== 'fail' && !(operation.f === 'read' && operation.outcome === 'unknown'));
  const placed = new Set<Operation>();
  const mayGoNext = (candidate: Operation): boolean =>
    operations.every((other) => placed.has(other) || other === candidate || !(other.responseTime < candidate.invokeTime));
  const search = (state: string): boolean => {
    if (operations.every((operation) => placed.has(operation) || operation.outcome === 'unknown')) return true;
    for (const candidate of operations) {
      if (placed.has(candidate) || !mayGoNext(candidate)) continue;
      const next = registerStep(state, candidate);
      if (next === undefined) continue;
      placed.add(candidate);
      const found = search(next);
      placed.delete(candidate);
      if (found) return true;
    }
    return false;
  };
  return search('null');
}

function registerStep(state: string, operation: Operation): string | undefined {
  if (operation.f === 'read') return canonicalJson(operation.output) === state ? state : undefined;
  if (operation.f === 'write') return canonicalJson(operation.input);
  const [expected, replacement] = operation.input as [unknown, unknown];
  if (canonicalJson(expected) === state) return canonicalJson(replacement);
  return operation.outcome === 'unknown' ? state : undefined;
}

const generatedShapes: { name: string; options: Omit<RandomHistoryOptions, 'seed'> }[] = [
  { name: 'registers, fresh values', options: { operations: 300, processes: 6, keys: ['a', 'b', 'c'], kind: 'register' } },
  { name: 'one register, few values', options: { operations: 300, processes: 8, keys: ['x'], kind: 'register', valueRange: 3 } },
  { name: 'key-value, few values', options: { operations: 300, processes: 6, keys: ['a', 'b'], kind: 'key-value', valueRange: 4 } },
  {
    name: 'failures and unknown outcomes',
    options: { operations: 300, processes: 6, keys: ['x', 'y'], kind: 'register', valueRange: 4, failChance: 0.1, unknownChance: 0.15 },
  },
];

for (const shape of generatedShapes) {
  test(`histories generated from a sequential model are linearizable: ${shape.name}`, () => {
    for (let seed = 1; seed <= 150; seed += 1) {
      const result = checkHistory(randomHistory({ seed, ...shape.options }));
      assert.equal(result.status, 'linearizable', `seed ${seed}: ${JSON.stringify(result)}`);
    }
  });
}

/** Three known operations on one key in real-time order: `older` and `newer` each
 * wrote a value, and `read`, invoked after `newer` returned, read something. */
interface Chain {
  readonly older: Operation;
  readonly newer: Operation;
  readonly read: Operation;
}

/** With fresh values every write is the only one of its value, so a read that sees
 * the value of `older` after `newer` overwrote it is a violation, whatever else ran. */
function findChain(operations: readonly Operation[], prng: Prng): Chain | undefined {
  const known = operations.filter((operation) => operation.outcome === 'ok');
  const writes = known.filter((operation) => operation.f === 'write' || operation.f === 'cas');
  const reads = known.filter((operation) => operation.f === 'read');
  for (let attempt = 0; attempt < 200; attempt += 1) {
    const read = prng.pick(reads);
    const newer = writes.filter((write) => write.key === read.key && write.responseTime < read.invokeTime);
    const candidate = newer.length > 0 ? prng.pick(newer) : undefined;
    const older = writes.find((write) => candidate && write.key === read.key && write.responseTime < candidate.invokeTime);
    if (candidate && older) return { older, newer: candidate, read };
  }
  return undefined;
}

function writtenValue(operation: Operation): unknown {
  return operation.f === 'cas' ? (operation.input as unknown[])[1] : operation.input;
}

/** Replaces the value of the ok events of the given reads. */
function withReadValues(history: readonly HistoryEvent[], reads: readonly Operation[], value: unknown): HistoryEvent[] {
  const completions = new Set(reads.map((read) => read.completionEvent));
  return history.map((event, index) => (completions.has(index) ? { ...event, value } : event));
}

const injectable: Omit<RandomHistoryOptions, 'seed'> = {
  operations: 200,
  processes: 6,
  keys: ['a', 'b'],
  kind: 'register',
  failChance: 0.05,
  unknownChance: 0.05,
};

test('a stale read injected into a generated history is caught', () => {
  let injected = 0;
  for (let seed = 1; seed <= 150; seed += 1) {
    const history = randomHistory({ seed, ...injectable });
    const chain = findChain(pairOperations(history), new Prng(seed));
    if (chain === undefined) continue;
    const result = checkHistory(withReadValues(history, [chain.read], writtenValue(chain.older)));
    assert.equal(result.status, 'not linearizable', `seed ${seed}`);
    injected += 1;
  }
  assert.ok(injected > 140, `${injected} seeds had room for a stale read`);
});

test('a lost write injected into a generated history is caught', () => {
  let injected = 0;
  for (let seed = 1; seed <= 150; seed += 1) {
    const history = randomHistory({ seed, ...injectable });
    const operations = pairOperations(history);
    const chain = findChain(operations, new Prng(seed));
    if (chain === undefined) continue;
    // Every read that saw the newer write now sees the older value instead, as if the
    // newer write had been acknowledged and then lost.
    const lost = canonicalJson(writtenValue(chain.newer));
    const sawIt = operations.filter(
      (operation) => operation.f === 'read' && operation.outcome === 'ok' && operation.key === chain.read.key && canonicalJson(operation.output) === lost,
    );
    const result = checkHistory(withReadValues(history, [chain.read, ...sawIt], writtenValue(chain.older)));
    assert.equal(result.status, 'not linearizable', `seed ${seed}`);
    injected += 1;
  }
  assert.ok(injected > 140, `${injected} seeds had room for a lost write`);
});

test('a long single-key history is checked in one piece (a sanity check, not a timing)', () => {
  const history = randomHistory({ seed: 1, operations: 5000, processes: 10, keys: ['x'], kind: 'register', valueRange: 5, unknownChance: 0.02 });
  assert.equal(checkHistory(history).status, 'linearizable');
});
