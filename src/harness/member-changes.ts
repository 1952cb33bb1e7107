/**
 * Membership changes on a real cluster, done the way an operator would through the
 * REST membership routes, and done to the end: a removed member's process has stopped
 * by itself; a new member has joined as a learner, caught up and been promoted.
 *
 * A request whose answer is lost may still have applied, so each one is sent again
 * until the cluster's answer shows it done: a removal once the id is gone
 * (ID_REMOVED), an addition once the id exists (MEMBER_EXISTS), a promotion once the
 * member is no learner (NOT_A_LEARNER). Refusals for now — 503 (a leader change, a
 * change in progress) and 412 (voters not connected yet, a learner not in sync) —
 * are sent again too; the last answer is in the deadline's error.
 */
import type { Cluster } from './cluster-harness.js';
import { describe, errorCode, http } from './http.js';
import type { HttpAnswer, HttpOptions } from './http.js';
import { waitFor } from './wait-for.js';

/** How long each step may take on a loaded machine (a promotion waits for a catch-up). */
const stepTimeoutMs = 30_000;

/** Removes member `id`, waits for its process to stop cleanly by itself, and marks it removed. */
export async function removeMember(cluster: Cluster, id: number): Promise<void> {
  const node = cluster.node(id);
  const exited = node.child ? cluster.expectExit(id) : undefined;
  await untilDone(
    cluster,
    `the removal of member ${id}`,
    { method: 'DELETE', path: `/members/${id}` },
    (answer) => answer.status === 200 || errorCode(answer) === 'ID_REMOVED',
  );
  if (exited) {
    await waitFor(async () => !node.child, { timeoutMs: stepTimeoutMs, what: `removed node ${id} to stop by itself`, explain: () => cluster.describe() });
    const exit = await exited;
    if (exit.code !== 0) throw new Error(`removed node ${id} stopped with ${exit.signal ?? `code ${exit.code}`}, not cleanly`);
  }
  cluster.markRemoved(id);
}

/**
 * Adds a new node with an empty data directory and the next unused id: `place` makes
 * room for it first (a network namespace), then it is added as a learner, started
 * with --join, and promoted once the leader counts it in sync (thesis §4.2.1).
 * Resolves with its id.
 */
export async function addMember(cluster: Cluster, place: (id: number) => Promise<void> = async () => {}): Promise<number> {
  const id = Math.max(...cluster.nodes.map((n) => n.id)) + 1;
  await place(id);
  const node = await cluster.addNode(id);
  const added = { method: 'POST', path: '/members', body: { id, peerUrls: [node.peerUrl], isLearner: true, name: `node-${id}` } } as const;
  await untilDone(cluster, `the addition of learner ${id}`, added, (answer) => answer.status === 201 || errorCode(answer) === 'MEMBER_EXISTS');
  await cluster.startNode(id);
  // LEARNER_NOT_READY is the answer until the learner has caught up.
  await untilDone(
    cluster,
    `the promotion of learner ${id}`,
    { method: 'POST', path: `/members/${id}/promote` },
    (answer) => answer.status === 200 || errorCode(answer) === 'NOT_A_LEARNER',
  );
  return id;
}

/** Sends `request` to the leader (or, with none known, to a running member, which forwards) until `done` accepts an answer. */
async function untilDone(
  cluster: Cluster,
  what: string,
  request: { readonly path: string } & HttpOptions,
  done: (answer: HttpAnswer) => boolean,
): Promise<void> {
  await waitFor(
    async () => {
      const members = cluster.memberIds();
      const target = (await cluster.currentLeader()) ?? cluster.runningIds().find((id) => members.includes(id));
      if (target === undefined) throw new Error('no member is running');
      const answer = await http(`${cluster.url(target)}${request.path}`, { ...request, timeoutMs: 5_000 });
      if (done(answer)) return true;
      throw new Error(`node ${target} answered ${describe(answer)}`);
    },
    { timeoutMs: stepTimeoutMs, intervalMs: 100, what, explain: () => cluster.describe() },
  );
}
