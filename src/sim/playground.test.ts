import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Playground } from './playground.js';
import type { ClientResult } from './playground.js';

/** Advances simulated time until `done()` or `limitMs` of simulated time passed. */
function runUntil(p: Playground, done: () => boolean, limitMs: number): void {
  const end = p.nowMs + limitMs;
  while (!done() && p.nowMs < end) p.advance(50);
  assert.ok(done(), `condition not reached within ${limitMs} simulated ms`);
}

function request(p: Playground, start: (done: (r: ClientResult) => void) => void): ClientResult {
  let result: ClientResult | undefined;
  start((r) => (result = r));
  runUntil(p, () => result !== undefined, 20_000);
  return result as ClientResult;
}

describe('playground (the dashboard simulation mode)', () => {
  for (const nodes of [3, 5] as const) {
    it(`elects one leader among ${nodes} nodes and replicates a put to every node (§5.2, §5.3)`, () => {
      const p = new Playground({ nodes, seed: 7 });
      runUntil(p, () => p.leader() !== 0 && p.ids.every((id) => p.view(id).leader === p.leader()), 10_000);
      const leader = p.leader();
      const follower = p.ids.find((id) => id !== leader) as number;
      const put = request(p, (done) => p.put(follower, 'x', 'hello', done));
      assert.equal(put.ok, true, JSON.stringify(put));
      runUntil(p, () => p.ids.every((id) => p.view(id).kv.get('x') === 'hello'), 5_000);
      const get = request(p, (done) => p.get(follower, 'x', done));
      assert.deepEqual(get.ok && get.value, 'hello');
    });
  }

  it('shows each follower its election timer, drawn from [electionTicks, 2 * electionTicks) (§5.2), and a crashed node none', () => {
    const p = new Playground({ nodes: 3, seed: 5 });
    runUntil(p, () => p.leader() !== 0, 10_000);
    for (const id of p.ids.filter((id) => id !== p.leader())) {
      const timer = p.view(id).timer!;
      assert.ok(timer.timeoutTicks >= p.electionTicks && timer.timeoutTicks < 2 * p.electionTicks, `timeout ${timer.timeoutTicks}`);
      assert.ok(
        timer.elapsedTicks < timer.timeoutTicks,
        `elapsed ${timer.elapsedTicks} of ${timer.timeoutTicks}: a follower hearing its leader does not time out`,
      );
    }
    p.crash(p.leader());
    assert.equal(p.view(p.ids.find((id) => p.view(id).role === 'down')!).timer, undefined);
  });

  it('a crashed leader is replaced, and the restarted node catches up from its disk and the new leader', () => {
    const p = new Playground({ nodes: 3, seed: 11 });
    runUntil(p, () => p.leader() !== 0, 10_000);
    const first = p.leader();
    assert.equal(request(p, (done) => p.put(first, 'a', '1', done)).ok, true);
    p.crash(first);
    assert.equal(p.view(first).role, 'down');
    runUntil(p, () => p.leader() !== 0 && p.leader() !== first, 10_000);
    assert.notEqual(p.view(p.leader()).term, p.view(first).term, 'the new leader leads a later term');
    const second = p.leader();
    assert.equal(request(p, (done) => p.put(second, 'b', '2', done)).ok, true);
    p.restart(first);
    runUntil(p, () => p.view(first).kv.get('a') === '1' && p.view(first).kv.get('b') === '2', 10_000);
  });

  it('a leader cut off in a minority cannot commit; the majority elects another and commits', () => {
    const p = new Playground({ nodes: 5, seed: 3 });
    runUntil(p, () => p.leader() !== 0, 10_000);
    const old = p.leader();
    const buddy = p.ids.find((id) => id !== old) as number;
    p.setSide(old, 1);
    p.setSide(buddy, 1);
    const stuck = request(p, (done) => p.put(old, 'k', 'minority', done));
    assert.equal(stuck.ok, false);
    const majority = p.ids.find((id) => id !== old && id !== buddy) as number;
    runUntil(
      p,
      () => {
        const l = p.view(majority).leader;
        return l !== 0 && l !== old && l !== buddy;
      },
      10_000,
    );
    assert.equal(request(p, (done) => p.put(majority, 'k', 'majority', done)).ok, true);
    p.heal();
    runUntil(p, () => p.ids.every((id) => p.view(id).kv.get('k') === 'majority'), 10_000);
  });
});
