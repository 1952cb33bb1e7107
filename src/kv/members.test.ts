import { test } from 'node:test';
import assert from 'node:assert/strict';
import { decodeCommand, encodeCommand } from './codec/command.js';
import { DecodeError } from '../lib/bytes/index.js';
import { applyMemberChange, decodeMemberChange, encodeMemberChange, type Member, type MemberChange, type MemberList } from './members.js';
import { bytes, withTempStore } from './testing/temp-store.js';

const member = (id: number, extra: Partial<Member> = {}): Member => ({
  id,
  name: `node-${id}`,
  peerUrls: [`http://127.0.0.1:${7100 + id}`],
  clientUrls: [`http://127.0.0.1:${7000 + id}`],
  grpcUrls: [],
  isLearner: false,
  ...extra,
});

function applyAll(changes: readonly MemberChange[]): MemberList {
  let list: MemberList | undefined;
  for (const change of changes) {
    const result = applyMemberChange(list, change);
    assert.ok(result.ok, result.ok ? '' : result.message);
    list = result.list;
  }
  return list as MemberList;
}

test('member changes: init once, add a learner, publish, promote, update, remove (the id is kept as removed)', () => {
  const list = applyAll([
    { op: 'init', members: [member(2), member(1)] },
    { op: 'init', members: [member(9)] },
    { op: 'add', member: member(3, { name: '', clientUrls: [], isLearner: true }) },
    { op: 'publish', id: 3, name: 'node-3', clientUrls: ['http://127.0.0.1:7003'], grpcUrls: ['http://127.0.0.1:7203'] },
    { op: 'promote', id: 3 },
    { op: 'update', id: 1, peerUrls: ['http://127.0.0.1:9101'] },
    { op: 'remove', id: 2 },
  ]);
  assert.deepEqual(list, {
    members: [member(1, { peerUrls: ['http://127.0.0.1:9101'] }), member(3, { grpcUrls: ['http://127.0.0.1:7203'] })],
    removed: [2],
  });
});

test('member changes that make no sense are refused and change nothing', () => {
  const list = applyAll([
    { op: 'init', members: [member(1)] },
    { op: 'remove', id: 1 },
  ]);
  const refusals: [MemberChange, RegExp][] = [
    [{ op: 'add', member: member(1) }, /member id 1 was removed/],
    [{ op: 'remove', id: 5 }, /member 5 not found/],
    [{ op: 'promote', id: 5 }, /member 5 not found/],
    [{ op: 'update', id: 5, peerUrls: [] }, /member 5 not found/],
  ];
  for (const [change, message] of refusals) {
    const result = applyMemberChange(list, change);
    assert.equal(result.ok, false);
    assert.match(result.ok ? '' : result.message, message);
  }
  const before = applyMemberChange(undefined, { op: 'add', member: member(4) });
  assert.equal(before.ok, false, 'nothing but init before the list exists');
});

test('member changes round-trip through the command codec (tag 12); malformed ones are refused', () => {
  const change: MemberChange = { op: 'add', member: member(4, { isLearner: true }) };
  const decoded = decodeCommand(encodeCommand({ body: { type: 'member', change } }));
  assert.deepEqual(decoded, { ok: true, value: { body: { type: 'member', change } } });
  assert.deepEqual(decodeMemberChange(encodeMemberChange(change)), change);
  for (const bad of ['{"op":"add"}', '{"op":"explode","id":1}', '{"op":"remove","id":-1}', '[1]', 'not json', '{"op":"update","id":1,"peerUrls":[5]}']) {
    assert.throws(() => decodeMemberChange(bytes(bad)), DecodeError, bad);
  }
});

test('the member list is applied with its index and travels in the store snapshot', async () => {
  await withTempStore(async (source) => {
    assert.equal(source.members(), undefined);
    source.apply(1, { body: { type: 'member', change: { op: 'init', members: [member(1), member(2)] } } });
    const refused = source.apply(2, { body: { type: 'member', change: { op: 'remove', id: 7 } } });
    assert.equal(refused.status === 'applied' && !refused.result.ok && refused.result.error.code, 'INVALID_ARGUMENT');
    source.apply(3, { body: { type: 'member', change: { op: 'add', member: member(3, { isLearner: true }) } } });
    assert.equal(source.appliedIndex(), 3);
    const expected = { members: [member(1), member(2), member(3, { isLearner: true })], removed: [] };
    assert.deepEqual(source.members(), expected);
    const snapshot = source.snapshot();
    await withTempStore((target) => {
      target.restore(snapshot.index, snapshot.data);
      assert.deepEqual(target.members(), expected);
    });
  });
});
