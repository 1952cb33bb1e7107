import assert from 'node:assert/strict';
import { test } from 'node:test';
import { HistoryError, pairOperations, parseHistory, parseHistoryWithLines } from './history.js';
import { events } from './history-notation.test-support.js';

const write = '{"process":1,"type":"invoke","f":"write","key":"x","value":1}';
const writeOk = '{"process":1,"type":"ok","f":"write","key":"x","value":1}';

function parseError(text: string): string {
  try {
    parseHistory(text);
  } catch (error) {
    assert.ok(error instanceof HistoryError, `expected a HistoryError, got ${String(error)}`);
    return error.message;
  }
  assert.fail('expected the history to be rejected');
}

test('parses one event per line, skipping blank lines, and remembers their lines', () => {
  const { events: parsed, lineNumbers } = parseHistoryWithLines(`${write}\n\n${writeOk}\n`);
  assert.deepEqual(parsed, [
    { process: 1, type: 'invoke', f: 'write', key: 'x', value: 1 },
    { process: 1, type: 'ok', f: 'write', key: 'x', value: 1 },
  ]);
  assert.deepEqual(lineNumbers, [1, 3]);
});

test('rejects bad JSON, naming the line', () => {
  assert.match(parseError(`${write}\n{"process":1,\n`), /^line 2: bad JSON/);
});

test('rejects missing and malformed fields, naming the line and the field', () => {
  assert.equal(parseError('{"type":"invoke","f":"read","key":"x","value":null}'), 'line 1: missing field "process"');
  assert.equal(parseError('{"process":1,"type":"invoke","f":"read","key":"x"}'), 'line 1: missing field "value"');
  assert.match(parseError('[1,2]'), /^line 1: expected a JSON object/);
  assert.match(parseError('{"process":1.5,"type":"invoke","f":"read","key":"x","value":null}'), /^line 1: "process" must be an integer, got 1.5/);
  assert.match(
    parseError('{"process":1,"type":"start","f":"read","key":"x","value":null}'),
    /^line 1: "type" must be one of invoke, ok, fail, info, got "start"/,
  );
  assert.match(parseError('{"process":1,"type":"invoke","f":"incr","key":"x","value":null}'), /^line 1: "f" must be one of .*got "incr"/);
  assert.match(parseError('{"process":1,"type":"invoke","f":"read","key":7,"value":null}'), /^line 1: "key" must be a string, got 7/);
  assert.match(parseError('{"process":1,"type":"invoke","f":"read","key":"x","value":null,"time":"soon"}'), /^line 1: "time" must be a number/);
  assert.match(
    parseError('{"process":1,"type":"invoke","f":"cas","key":"x","value":[1]}'),
    /^line 1: a cas invoke's "value" must be \[expected, new\], got \[1\]/,
  );
});

test('rejects a completion without an open invoke', () => {
  assert.equal(parseError(`${write}\n${writeOk}\n${writeOk}`), 'line 3: "ok" for process 1, which has no open invoke');
});

test('rejects a second invoke while one is open for the same process', () => {
  assert.equal(parseError(`${write}\n\n${write}`), 'line 3: process 1 invokes again while its invoke at line 1 is still open');
});

test('rejects a completion that does not match its invoke', () => {
  const readOk = '{"process":1,"type":"ok","f":"read","key":"x","value":1}';
  assert.match(parseError(`${write}\n${readOk}`), /^line 2: completes read of key "x", but the open invoke of process 1 \(line 1\) is write of key "x"/);
});

test('rejects time on some events only, and time running backwards', () => {
  const timedOk = '{"process":1,"type":"ok","f":"write","key":"x","value":1,"time":5}';
  assert.match(parseError(`${write}\n${timedOk}`), /^line 2: has "time", which line 1 lacks/);
  const timedWrite = '{"process":1,"type":"invoke","f":"write","key":"x","value":1,"time":9}';
  assert.match(parseError(`${timedWrite}\n${writeOk}`), /^line 2: missing "time", which line 1 has/);
  assert.match(parseError(`${timedWrite}\n${timedOk}`), /^line 2: "time" 5 is before the time of its invoke \(line 1, 9\)/);
});

test('rejects a key used both as a register and as a key-value entry', () => {
  const put = '{"process":2,"type":"invoke","f":"put","key":"x","value":1}';
  assert.match(parseError(`${write}\n${put}`), /^line 2: put on key "x", which line 1 used with write/);
});

test('pairs invokes with completions into operations with outcomes and times', () => {
  const operations = pairOperations(
    events(`
      1 invoke write x 1
      2 invoke read x null
      3 invoke cas x [1,2]
      4 invoke write x 3
      1 ok write x 1
      2 ok read x 1
      3 info cas x [1,2]
      5 invoke write x 4
      4 fail write x 3
    `),
  );
  assert.deepEqual(
    operations.map(({ process, outcome, output, invokeTime, responseTime }) => ({ process, outcome, output, invokeTime, responseTime })),
    [
      { process: 1, outcome: 'ok', output: 1, invokeTime: 0, responseTime: 4 },
      { process: 2, outcome: 'ok', output: 1, invokeTime: 1, responseTime: 5 },
      { process: 3, outcome: 'unknown', output: undefined, invokeTime: 2, responseTime: Infinity },
      { process: 4, outcome: 'fail', output: undefined, invokeTime: 3, responseTime: 8 },
      { process: 5, outcome: 'unknown', output: undefined, invokeTime: 7, responseTime: Infinity },
    ],
  );
  assert.deepEqual(
    operations.map((operation) => [operation.invokeEvent, operation.completionEvent, operation.completionTime]),
    [
      [0, 4, 4],
      [1, 5, 5],
      [2, 6, 6],
      [3, 8, 8],
      [7, undefined, undefined],
    ],
  );
});

test('uses the time field when events have one', () => {
  const [operation] = pairOperations(events('@100 1 invoke read x null\n@250 1 ok read x null'));
  assert.equal(operation?.invokeTime, 100);
  assert.equal(operation?.responseTime, 250);
});

test('names events by position when they do not come from a file', () => {
  assert.throws(() => pairOperations(events('1 ok read x null')), { message: 'event 1: "ok" for process 1, which has no open invoke' });
});
