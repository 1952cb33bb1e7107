import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readFileSync, unlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { claimPort, portClaimsDir, releasePort } from './port-claims.js';

// Port numbers below 1024 that the draws (from 10000 up) never reach, so the test and
// a suite running beside it cannot meet.
const claimFile = (port: number) => join(portClaimsDir, String(port));

/** A pid no process has right now. */
function deadPid(): number {
  for (let pid = 4_000_000; pid > 1; pid--) {
    try {
      process.kill(pid, 0);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ESRCH') return pid;
    }
  }
  throw new Error('no free pid found');
}

test('port claims: a claimed port is not claimed again; releasing it frees it', () => {
  const port = 901;
  releasePort(port);
  assert.equal(claimPort(port), true);
  assert.equal(readFileSync(claimFile(port), 'utf8'), String(process.pid));
  assert.equal(claimPort(port), false, 'claimed twice by the same process');
  releasePort(port);
  assert.equal(existsSync(claimFile(port)), false);
  assert.equal(claimPort(port), true);
  releasePort(port);
});

test('port claims: a port another live process claimed is refused; one whose process died is taken over', () => {
  mkdirSync(portClaimsDir, { recursive: true });
  const port = 902;
  // pid 1 lives as long as the machine, and is never counted as an ancestor.
  writeFileSync(claimFile(port), '1');
  assert.equal(claimPort(port), false, 'took a live process’s claim');
  assert.equal(readFileSync(claimFile(port), 'utf8'), '1', 'the live claim was disturbed');

  writeFileSync(claimFile(port), String(deadPid()));
  assert.equal(claimPort(port), true, 'a stale claim was not taken over');
  assert.equal(readFileSync(claimFile(port), 'utf8'), String(process.pid));
  releasePort(port);
});

test('port claims: a port an ancestor claimed is this process’s to take, once; its claim stays the ancestor’s', async () => {
  mkdirSync(portClaimsDir, { recursive: true });
  const port = 903;
  writeFileSync(claimFile(port), String(process.ppid));
  assert.equal(claimPort(port), true, 'a port the parent claimed for this process was refused');
  assert.equal(claimPort(port), false, 'taken twice');
  releasePort(port);
  assert.equal(readFileSync(claimFile(port), 'utf8'), String(process.ppid), 'the parent’s claim was removed');
  unlinkSync(claimFile(port));
});
