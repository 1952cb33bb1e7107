import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Prng } from '../lib/prng.js';
import type { ChaosNetwork } from './network.js';
import type { NemesisContext } from './nemesis.js';
import { partitionHalves, partitionLeader, partitionRing } from './partition-nemeses.js';

/** The cuts a nemesis asks for, and which nodes then still see each other. */
function recording(ids: number[], leader?: number): { context: NemesisContext; sees: (a: number, b: number) => boolean } {
  let cuts: (readonly [number, number])[] = [];
  const network = {
    cut: async (pairs: readonly (readonly [number, number])[]) => void (cuts = [...pairs]),
    heal: async () => void (cuts = []),
  } as unknown as ChaosNetwork;
  const context = { network, ids, random: new Prng(5), leader: async () => leader } as unknown as NemesisContext;
  const sees = (a: number, b: number): boolean => !cuts.some(([x, y]) => (x === a && y === b) || (x === b && y === a));
  return { context, sees };
}

function visible(ids: number[], sees: (a: number, b: number) => boolean, id: number): number[] {
  return ids.filter((other) => other !== id && sees(id, other));
}

test('partition-halves: a minority cut from a majority, both ways', async () => {
  const ids = [1, 2, 3, 4, 5];
  const { context, sees } = recording(ids);
  await partitionHalves.start(context);
  const sizes = ids.map((id) => visible(ids, sees, id).length + 1).sort();
  assert.deepEqual(sizes, [2, 2, 3, 3, 3]);
});

test('partition-leader: the leader sees nobody, the others see each other', async () => {
  const ids = [1, 2, 3];
  const { context, sees } = recording(ids, 2);
  assert.match(await partitionLeader.start(context), /isolated node 2/);
  assert.deepEqual(visible(ids, sees, 2), []);
  assert.ok(sees(1, 3));
});

test('partition-ring: 5 nodes each see exactly their two ring neighbours (a majority each, no common one)', async () => {
  const ids = [1, 2, 3, 4, 5];
  const { context, sees } = recording(ids);
  await partitionRing.start(context);
  for (const id of ids) assert.equal(visible(ids, sees, id).length, 2, `node ${id} sees two others`);
});

test('partition-ring: 3 nodes make a bridge — one node sees both, they do not see each other', async () => {
  const ids = [1, 2, 3];
  const { context, sees } = recording(ids);
  const what = await partitionRing.start(context);
  const bridge = Number(/bridge through node (\d)/.exec(what)?.[1]);
  assert.deepEqual(
    visible(ids, sees, bridge).sort(),
    ids.filter((id) => id !== bridge),
  );
  const [a, b] = ids.filter((id) => id !== bridge) as [number, number];
  assert.equal(sees(a, b), false);
});
