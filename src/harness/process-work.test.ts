import { test } from 'node:test';
import assert from 'node:assert/strict';
import { closeSync, mkdtempSync, openSync, rmSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { processWork, totalWork, workBetween } from './process-work.js';

test('a process that computes and writes is seen to: its user time and its write calls grow', () => {
  const dir = mkdtempSync(join(tmpdir(), 'keel-process-work-'));
  try {
    const before = processWork(process.pid);
    const file = openSync(join(dir, 'f'), 'w');
    for (let i = 0; i < 200; i++) writeSync(file, 'x');
    closeSync(file);
    // Computing until the user time has moved (its clock ticks every 10 ms), bounded.
    const deadline = Date.now() + 5_000;
    let spent = workBetween(before, processWork(process.pid));
    while (spent.userMicros === 0 && Date.now() < deadline) {
      for (let i = 0, x = 0; i < 1e6; i++) x = (x * 31 + i) | 0;
      spent = workBetween(before, processWork(process.pid));
    }
    assert.ok(spent.userMicros > 0, 'user time counted');
    assert.ok(spent.readWriteCalls >= 200, `200 writes counted (${spent.readWriteCalls})`);
    assert.ok(spent.systemMicros >= 0 && spent.contextSwitches >= 0);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a process that is not there counts nothing; totals add up', () => {
  // Above Linux's largest pid_max (2^22): no process has it.
  assert.deepEqual(processWork(2 ** 22 + 1), { userMicros: 0, systemMicros: 0, readWriteCalls: 0, contextSwitches: 0 });
  const one = { userMicros: 10, systemMicros: 2, readWriteCalls: 3, contextSwitches: 4 };
  assert.deepEqual(totalWork([one, one]), { userMicros: 20, systemMicros: 4, readWriteCalls: 6, contextSwitches: 8 });
});
