/**
 * Leadership-transfer storm: for the whole interval, the leader is asked again and
 * again to hand over to another node (thesis §3.10), a little faster than a transfer
 * completes on a loaded machine, so transfers overlap elections and client traffic.
 */
import { http, pause } from '../harness/index.js';
import type { Nemesis, NemesisContext } from './nemesis.js';

const transferEveryMs = 300;
const storms = new WeakMap<NemesisContext, { stopped: boolean; done: Promise<number> }>();

async function storm(context: NemesisContext, state: { stopped: boolean }): Promise<number> {
  let asked = 0;
  while (!state.stopped) {
    const leader = await context.leader();
    if (leader !== undefined) {
      const others = context.ids.filter((id) => id !== leader);
      const to = others[context.random.int(others.length)] as number;
      // Refusals (a transfer already under way) are part of the storm, not a failure.
      await http(`${context.cluster.url(leader)}/admin/transfer-leadership`, { method: 'POST', body: { to }, timeoutMs: 2_000 }).catch(() => undefined);
      asked++;
    }
    await pause(transferEveryMs);
  }
  return asked;
}

export const transferStorm: Nemesis = {
  name: 'transfer-storm',
  async start(context) {
    const state = { stopped: false, done: Promise.resolve(0) };
    state.done = storm(context, state);
    storms.set(context, state);
    return `leadership transfers every ${transferEveryMs} ms`;
  },
  async stop(context) {
    const state = storms.get(context);
    if (!state) return;
    state.stopped = true;
    await state.done;
    storms.delete(context);
  },
};
