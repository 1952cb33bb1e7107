/**
 * Membership churn under load: a voter (the leader half of the time) is removed from
 * the cluster and stops by itself; at the end of the interval a new member takes its
 * place — a fresh node with an empty data directory and a new id (ids are never
 * reused, as in etcd), in a namespace of its own when the network has them. It joins
 * as a learner, catches up by log or snapshot while the workloads run, and is promoted
 * once the leader counts it in sync (thesis §4.2.1: a new server gets no vote until it
 * has caught up, so it cannot stall commitment). Each change is a single-server change
 * (thesis §4.1), asked for through the REST membership routes (src/harness/member-changes.ts).
 */
import { addMember, removeMember } from '../harness/index.js';
import type { Nemesis, NemesisContext } from './nemesis.js';

const churned = new WeakSet<NemesisContext>();

export const memberChurn: Nemesis = {
  name: 'member-churn',
  async start(context) {
    const leader = await context.leader();
    const others = context.ids.filter((id) => id !== leader);
    const victim = leader !== undefined && context.random.chance(0.5) ? leader : (others[context.random.int(others.length)] as number);
    await removeMember(context.cluster, victim);
    churned.add(context);
    return `removed ${victim === leader ? 'the leader, ' : ''}member ${victim}`;
  },
  async stop(context) {
    if (!churned.delete(context)) return;
    await addMember(context.cluster, (id) => context.network.addNode(id));
  },
};
