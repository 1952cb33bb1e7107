import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { SessionPool } from './session.js';

describe('SessionPool', () => {
  it('numbers one session 1, 2, 3 when writes follow each other', () => {
    const pool = new SessionPool('base');
    for (const expected of [1, 2, 3]) {
      const ticket = pool.acquire();
      assert.deepEqual(ticket, { clientId: 'base-1', seq: expected });
      pool.settle(ticket, 'applied');
    }
    assert.equal(pool.createdCount(), 1);
  });

  it('gives concurrent writes distinct sessions and reuses them afterwards', () => {
    const pool = new SessionPool('base');
    const a = pool.acquire();
    const b = pool.acquire();
    assert.notEqual(a.clientId, b.clientId);
    pool.settle(a, 'applied');
    pool.settle(b, 'applied');
    const c = pool.acquire();
    assert.ok(c.clientId === a.clientId || c.clientId === b.clientId);
    assert.equal(c.seq, 2);
    assert.equal(pool.createdCount(), 2);
  });

  it('keeps the seq of a write that never reached the log', () => {
    const pool = new SessionPool('base');
    const first = pool.acquire();
    pool.settle(first, 'not-sent');
    assert.deepEqual(pool.acquire(), first);
  });

  it('retires a session whose write has an unknown outcome', () => {
    const pool = new SessionPool('base');
    pool.settle(pool.acquire(), 'applied');
    const lost = pool.acquire();
    pool.settle(lost, 'unknown');
    assert.equal(pool.idleCount(), 0);
    assert.deepEqual(pool.acquire(), { clientId: 'base-2', seq: 1 });
  });

  it('moves a known session past an answered error, and retires one the server may not know', () => {
    const pool = new SessionPool('base');
    pool.settle(pool.acquire(), 'applied');
    const refused = pool.acquire();
    pool.settle(refused, 'answered-error');
    assert.deepEqual(pool.acquire(), { clientId: 'base-1', seq: 3 });
    const fresh = new SessionPool('other');
    fresh.settle(fresh.acquire(), 'answered-error');
    assert.deepEqual(fresh.acquire(), { clientId: 'other-2', seq: 1 });
  });

  it('refuses to settle a ticket twice', () => {
    const pool = new SessionPool('base');
    const ticket = pool.acquire();
    pool.settle(ticket, 'applied');
    assert.throws(() => pool.settle(ticket, 'applied'), /settled twice/);
  });

  it('makes a random base id by default', () => {
    assert.notEqual(new SessionPool().baseId, new SessionPool().baseId);
    assert.match(new SessionPool().baseId, /^[A-Za-z0-9_-]{12}$/);
  });
});
