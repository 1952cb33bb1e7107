/**
 * fsync stalls (the node's disk fault hook, storage/faulty-disk.ts): a minority of
 * nodes, the leader half of the time, take `fsyncDelayMs` longer for every fsync —
 * longer than an election timeout, so a stalled leader's followers hear heartbeats
 * (the leader sends while it writes, thesis §10.2.1) but nothing commits through it.
 */
import { describe, http } from '../harness/index.js';
import type { Nemesis, NemesisContext } from './nemesis.js';

const stalled = new WeakMap<NemesisContext, number[]>();

async function setFsyncDelay(context: NemesisContext, id: number, fsyncDelayMs: number): Promise<void> {
  const answer = await http(`${context.cluster.url(id)}/admin/faults/disk`, { method: 'PUT', body: { fsyncDelayMs }, timeoutMs: 5_000 });
  if (answer.status !== 200) throw new Error(`PUT /admin/faults/disk on node ${id}: ${describe(answer)}`);
}

export const fsyncStall: Nemesis = {
  name: 'fsync-stall',
  async start(context) {
    const leader = await context.leader();
    const running = context.cluster.runningIds();
    const id = leader !== undefined && context.random.chance(0.5) ? leader : (running[context.random.int(running.length)] as number);
    const delayMs = Math.round(context.electionTimeoutMs * (1 + context.random.next()));
    await setFsyncDelay(context, id, delayMs);
    stalled.set(context, [id]);
    return `every fsync on node ${id}${id === leader ? ' (the leader)' : ''} stalls ${delayMs} ms`;
  },
  async stop(context) {
    for (const id of stalled.get(context) ?? []) await setFsyncDelay(context, id, 0);
    stalled.delete(context);
  },
};
