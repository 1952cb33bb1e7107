/**
 * Faults made with the transport's fault hooks (src/transport/fault-hooks.ts), in
 * either network mode: one-way message loss (a node's messages to its peers vanish
 * while theirs still arrive — done per message, because a one-way packet drop stalls
 * TCP both ways), and slow, lossy links everywhere (tc netem is not available here).
 */
import type { FaultRule } from '../transport/index.js';
import type { Nemesis, NemesisContext } from './nemesis.js';

const withdraw =
  (source: string) =>
  async (context: NemesisContext): Promise<void> =>
    context.board.set(source, new Map(), context.ids);

export const oneWayDrops: Nemesis = {
  name: 'one-way',
  async start(context) {
    const leader = await context.leader();
    const from = leader !== undefined && context.random.chance(0.5) ? leader : (context.ids[context.random.int(context.ids.length)] as number);
    await context.board.set('one-way', new Map([[from, [{ peer: '*', direction: 'out', dropFraction: 1 }]]]), context.ids);
    return `node ${from}${from === leader ? ' (the leader)' : ''} cannot send to its peers; it still hears them`;
  },
  stop: withdraw('one-way'),
};

export const slowLossyLinks: Nemesis = {
  name: 'slow-lossy',
  async start(context) {
    const delayMs = 20 + context.random.int(80);
    const dropFraction = Math.round((0.05 + context.random.next() * 0.2) * 100) / 100;
    const rule: FaultRule = { peer: '*', direction: 'out', delayMs, dropFraction };
    await context.board.set('slow-lossy', new Map(context.ids.map((id) => [id, [rule]])), context.ids);
    return `every link: ${delayMs} ms delay, ${Math.round(dropFraction * 100)}% loss`;
  },
  stop: withdraw('slow-lossy'),
};
