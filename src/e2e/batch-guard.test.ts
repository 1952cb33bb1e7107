/**
 * POST /batch with an "if" guard, against a real cluster: compare-and-set on a value,
 * create-if-absent (version 0), a guard on modRevision, and bad guards refused with
 * 400 and nothing written.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { withCluster } from '../harness/cluster-harness.js';
import { describe, http } from '../harness/http.js';

test('POST /batch "if": ops run only when every compare holds, the answer says which; bad guards get 400 and change nothing', { timeout: 60_000 }, async () => {
  await withCluster({}, async (cluster) => {
    const url = cluster.url(1);
    const batch = (body: object) => http(`${url}/batch`, { method: 'POST', body });
    const created = await batch({ if: [{ key: 'g/a', version: 0 }], ops: [{ op: 'set', key: 'g/a', value: 'one' }] });
    assert.equal(created.status, 200, describe(created));
    assert.equal((created.body as { succeeded: boolean }).succeeded, true, 'absent key: create-if-absent runs');
    const again = await batch({ if: [{ key: 'g/a', version: 0 }], ops: [{ op: 'set', key: 'g/a', value: 'two' }] });
    assert.deepEqual(
      [(again.body as { succeeded: boolean }).succeeded, (again.body as { results: unknown[] }).results],
      [false, []],
      'present key: nothing runs',
    );

    const wrong = await batch({ if: [{ key: 'g/a', value: 'nope' }], ops: [{ op: 'set', key: 'g/a', value: 'three' }] });
    assert.equal((wrong.body as { succeeded: boolean }).succeeded, false);
    const right = await batch({
      if: [{ key: 'g/a', value: 'one' }],
      ops: [
        { op: 'set', key: 'g/a', value: 'three' },
        { op: 'get', key: 'g/a' },
      ],
    });
    assert.equal((right.body as { succeeded: boolean }).succeeded, true);
    const kv = (right.body as { results: { kv?: { value: string; modRevision: number } }[] }).results[1]?.kv;
    assert.equal(kv?.value, 'three');

    const stale = await batch({ if: [{ key: 'g/a', modRevision: (kv?.modRevision ?? 0) - 1 }], ops: [{ op: 'delete', key: 'g/a' }] });
    assert.equal((stale.body as { succeeded: boolean }).succeeded, false, 'an older modRevision does not match');
    const current = await batch({ if: [{ key: 'g/a', modRevision: kv?.modRevision }], ops: [{ op: 'get', key: 'g/a' }] });
    assert.equal((current.body as { succeeded: boolean }).succeeded, true);

    for (const [guard, problem] of [
      ['x', /"if" must be an array/],
      [[{ key: 'g/a' }], /exactly one of value, valueBase64, version or modRevision/],
      [[{ key: 'g/a', value: 'one', version: 1 }], /exactly one of/],
      [[{ key: 'g/a', version: -1 }], /version must be a non-negative integer/],
      [[{ key: 'g/a', modRevision: 1, lease: 3 }], /unknown field lease/],
      [[{ value: 'x' }], /key/],
    ] as const) {
      const answer = await batch({ if: guard, ops: [{ op: 'set', key: 'g/a', value: 'bad' }] });
      assert.equal(answer.status, 400, `guard ${JSON.stringify(guard)}: ${describe(answer)}`);
      assert.match((answer.body as { error: { message: string } }).error.message, problem);
    }
    const after = await http(`${url}/kv/g/a`);
    assert.equal((after.body as { value: string }).value, 'three', 'no refused batch wrote anything');
  });
});
