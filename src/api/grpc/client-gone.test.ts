import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ClientGone } from './client-gone.js';

test('client gone: a signal asked for before the client leaves aborts when it does', () => {
  const gone = new ClientGone();
  const signal = gone.signal();
  assert.equal(signal.aborted, false);
  gone.happened();
  assert.equal(signal.aborted, true);
  assert.equal(gone.signal(), signal);
});

test('client gone: a signal first asked for after the client left is already aborted', () => {
  const gone = new ClientGone();
  gone.happened();
  assert.equal(gone.signal().aborted, true);
});
