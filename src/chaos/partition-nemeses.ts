/**
 * Network partitions (made by the chaos network: iptables in namespaces, or fault
 * hooks on loopback): random halves, the leader alone, and the overlapping-majority
 * shapes that trip naive implementations — a bridge (3 nodes: the middle one sees
 * both sides, the sides do not see each other) and a majority ring (5 nodes: each
 * sees its two neighbours, so every node has a majority, but no two agree on it).
 */
import type { Nemesis, NemesisContext } from './nemesis.js';

type Pair = readonly [number, number];

/** Every pair with one node in `side` and the other outside it. */
function pairsAcross(ids: readonly number[], side: ReadonlySet<number>): Pair[] {
  return ids.flatMap((a) => ids.filter((b) => a < b && side.has(a) !== side.has(b)).map((b) => [a, b] as const));
}

function shuffled(context: NemesisContext): number[] {
  const ids = [...context.ids];
  for (let i = ids.length - 1; i > 0; i--) {
    const j = context.random.int(i + 1);
    [ids[i], ids[j]] = [ids[j] as number, ids[i] as number];
  }
  return ids;
}

const heal = async (context: NemesisContext): Promise<void> => context.network.heal();

export const partitionHalves: Nemesis = {
  name: 'partition-halves',
  async start(context) {
    const order = shuffled(context);
    const minority = new Set(order.slice(0, Math.floor(context.ids.length / 2)));
    await context.network.cut(pairsAcross(context.ids, minority));
    return `cut {${[...minority].join(',')}} from {${order.filter((id) => !minority.has(id)).join(',')}}`;
  },
  stop: heal,
};

export const partitionLeader: Nemesis = {
  name: 'partition-leader',
  async start(context) {
    const leader = (await context.leader()) ?? (context.ids[context.random.int(context.ids.length)] as number);
    await context.network.cut(pairsAcross(context.ids, new Set([leader])));
    return `isolated node ${leader} (the leader)`;
  },
  stop: heal,
};

export const partitionRing: Nemesis = {
  name: 'partition-ring',
  async start(context) {
    const order = shuffled(context);
    const n = order.length;
    // Each node keeps its ring neighbours (for 3 nodes: a bridge, the middle keeps both).
    const keeps = (a: number, b: number): boolean => {
      const i = order.indexOf(a);
      const j = order.indexOf(b);
      if (n === 3) return i === 1 || j === 1;
      return Math.abs(i - j) === 1 || Math.abs(i - j) === n - 1;
    };
    const pairs = context.ids.flatMap((a) => context.ids.filter((b) => a < b && !keeps(a, b)).map((b) => [a, b] as const));
    await context.network.cut(pairs);
    return n === 3 ? `bridge through node ${order[1]}: ${order[0]} and ${order[2]} cut apart` : `majority ring ${order.join('-')}-${order[0]}`;
  },
  stop: heal,
};
