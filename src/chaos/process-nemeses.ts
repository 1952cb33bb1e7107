/**
 * Process faults: kill -9 (and a restart at the end of the interval, on the same
 * data), and SIGSTOP held longer than an election timeout (then SIGCONT: the node
 * wakes up believing what it believed before, timers long overdue). Both pick the
 * leader half of the time, a minority of nodes at most.
 */
import type { Nemesis, NemesisContext } from './nemesis.js';

async function victims(context: NemesisContext): Promise<number[]> {
  const running = context.cluster.runningIds();
  const leader = await context.leader();
  const count = 1 + context.random.int(Math.floor((context.ids.length - 1) / 2));
  const picked: number[] = [];
  if (leader !== undefined && context.random.chance(0.5)) picked.push(leader);
  while (picked.length < count) {
    const id = running[context.random.int(running.length)] as number;
    if (!picked.includes(id)) picked.push(id);
  }
  return picked;
}

const killed = new WeakMap<NemesisContext, number[]>();

export const killNodes: Nemesis = {
  name: 'kill',
  async start(context) {
    const picked = await victims(context);
    for (const id of picked) await context.cluster.kill(id);
    killed.set(context, picked);
    return `kill -9 node${picked.length > 1 ? 's' : ''} ${picked.join(', ')}`;
  },
  async stop(context) {
    for (const id of killed.get(context) ?? []) {
      await context.cluster.startNode(id);
      await context.board.push(id);
    }
    killed.delete(context);
  },
};

const paused = new WeakMap<NemesisContext, number[]>();

export const pauseNodes: Nemesis = {
  name: 'pause',
  async start(context) {
    const picked = await victims(context);
    for (const id of picked) context.cluster.suspend(id);
    paused.set(context, picked);
    return `SIGSTOP node${picked.length > 1 ? 's' : ''} ${picked.join(', ')}`;
  },
  async stop(context) {
    for (const id of paused.get(context) ?? []) context.cluster.resume(id);
    paused.delete(context);
  },
};
