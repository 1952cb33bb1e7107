/** Every nemesis by name, in the order the CI matrix runs them. */
import { clockSkew } from './clock-nemesis.js';
import { fsyncStall } from './disk-nemeses.js';
import { oneWayDrops, slowLossyLinks } from './link-nemeses.js';
import { memberChurn } from './member-churn.js';
import type { Nemesis } from './nemesis.js';
import { partitionHalves, partitionLeader, partitionRing } from './partition-nemeses.js';
import { killNodes, pauseNodes } from './process-nemeses.js';
import { transferStorm } from './transfer-storm.js';

export const allNemeses: readonly Nemesis[] = [
  partitionHalves,
  partitionLeader,
  partitionRing,
  oneWayDrops,
  killNodes,
  pauseNodes,
  transferStorm,
  memberChurn,
  slowLossyLinks,
  fsyncStall,
  clockSkew,
];

/** The nemeses a --nemesis value names: one name, a comma-separated list, or "all". */
export function nemesesNamed(spec: string): Nemesis[] {
  if (spec === 'all') return [...allNemeses];
  return spec.split(',').map((name) => {
    const found = allNemeses.find((n) => n.name === name.trim());
    if (!found) throw new Error(`unknown nemesis "${name}"; known: ${allNemeses.map((n) => n.name).join(', ')}, or all`);
    return found;
  });
}
