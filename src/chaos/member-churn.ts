/**
 * Membership churn under load: a voter (the leader half of the time) is removed from
 * the cluster and stops by itself; at the end of the interval a new member takes its
 * place — a fresh node with an empty data directory and a new id (ids are never
 * reused, as in etcd), in a namespace of its own when the network has them. It joins
 * as a learner, catches up by log or snapshot while the workloads run, and is promoted
 * once the leader counts it in sync (thesis §4.2.1: a new server gets no vote until it
 * has caught up, so it cannot stall commitment). Every change is one single-server
 * change (thesis §4.1), sent through the REST membership routes as an operator would.
 *
 * A request whose answer is lost may still have applied, so each one is retried until
 * the cluster's answer shows it done: a removal is done once the id is gone, an
 * addition once the id exists, a promotion once the member is a voter.
 */
import { describe, errorCode, http } from '../e2e/http.js';
import type { HttpAnswer, HttpOptions } from '../e2e/http.js';
import { waitFor } from '../e2e/wait-for.js';
import type { Nemesis, NemesisContext } from './nemesis.js';

/** How long each membership step may take on a loaded machine (a promotion waits for a catch-up). */
const stepTimeoutMs = 30_000;

const removedBy = new WeakMap<NemesisContext, number>();

export const memberChurn: Nemesis = {
  name: 'member-churn',
  async start(context) {
    const leader = await context.leader();
    const members = context.ids;
    const others = members.filter((id) => id !== leader);
    const victim = leader !== undefined && context.random.chance(0.5) ? leader : (others[context.random.int(others.length)] as number);
    await removeMember(context, victim);
    removedBy.set(context, victim);
    return `removed ${victim === leader ? 'the leader, ' : ''}member ${victim}`;
  },
  async stop(context) {
    if (!removedBy.has(context)) return;
    removedBy.delete(context);
    await addMember(context);
  },
};

/** Removes member `id` and waits for its process to stop by itself, as a removed member must. */
async function removeMember(context: NemesisContext, id: number): Promise<void> {
  const exited = context.cluster.expectExit(id);
  await untilDone(context, `the removal of member ${id}`, { method: 'DELETE', path: `/members/${id}` }, (answer) => answer.status === 200 || errorCode(answer) === 'ID_REMOVED');
  await waitFor(async () => !context.cluster.node(id).child, { timeoutMs: stepTimeoutMs, what: `removed node ${id} to stop by itself`, explain: () => context.cluster.describe() });
  const exit = await exited;
  if (exit.code !== 0) throw new Error(`removed node ${id} stopped with ${exit.signal ?? `code ${exit.code}`}, not cleanly`);
  context.cluster.markRemoved(id);
}

/** Adds a new node as a learner, starts it, and promotes it once it has caught up. */
async function addMember(context: NemesisContext): Promise<number> {
  const id = Math.max(...context.cluster.nodes.map((n) => n.id)) + 1;
  await context.network.addNode(id);
  const node = await context.cluster.addNode(id);
  await untilDone(
    context,
    `the addition of learner ${id}`,
    { method: 'POST', path: '/members', body: { id, peerUrls: [node.peerUrl], isLearner: true, name: `node-${id}` } },
    (answer) => answer.status === 201 || errorCode(answer) === 'MEMBER_EXISTS',
  );
  await context.cluster.startNode(id);
  await context.board.push(id);
  // LEARNER_NOT_READY is the expected answer until the learner has caught up;
  // NOT_A_LEARNER (the member exists and votes) means an earlier attempt applied.
  await untilDone(context, `the promotion of learner ${id}`, { method: 'POST', path: `/members/${id}/promote` }, (answer) => answer.status === 200 || errorCode(answer) === 'NOT_A_LEARNER');
  return id;
}

/**
 * Sends a membership request to the leader (any running member forwards, should the
 * leader be unknown) until `done` accepts an answer. A refusal for now (503: a leader
 * change, a change in progress; 412: not enough voters connected, a learner not in
 * sync) and a lost answer are tried again; the last answer is in the deadline's error.
 */
async function untilDone(context: NemesisContext, what: string, request: { readonly path: string } & HttpOptions, done: (answer: HttpAnswer) => boolean): Promise<void> {
  await waitFor(
    async () => {
      const running = context.cluster.runningIds().filter((id) => context.ids.includes(id));
      const target = (await context.leader()) ?? running[context.random.int(running.length)];
      if (target === undefined) throw new Error('no member is running');
      const answer = await http(`${context.cluster.url(target)}${request.path}`, { ...request, timeoutMs: 5_000 });
      if (done(answer)) return true;
      throw new Error(`node ${target} answered ${describe(answer)}`);
    },
    { timeoutMs: stepTimeoutMs, intervalMs: 100, what, explain: () => context.cluster.describe() },
  );
}

