import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Entry, LogIndex, Message, NodeId, Role, Term } from '../raft/types.js';
import { type RuleKind, RuleMonitor, type RuleStatus } from './rule-monitor.js';

// Each rule is shown to fire on a hand-made trace that breaks it, and to stay quiet on
// the same trace done right.

const config = (entry: Entry): Entry => ({ ...entry, kind: 'config' });
function entry(index: number, term: number): Entry {
  return { index, term, kind: 'normal', data: new TextEncoder().encode(`e${index}`) };
}

/** A core whose status the test sets by hand. */
class View {
  role: Role = 'follower';
  term: Term = 1;
  commit: LogIndex = 0;
  log: Entry[] = [];
  voters: NodeId[] = [1, 2, 3];
  peers: { id: NodeId; match: LogIndex }[] = [];
  status(): RuleStatus {
    return {
      role: this.role,
      term: this.term,
      commit: this.commit,
      firstIndex: 1,
      lastIndex: this.log.length,
      config: { voters: this.voters },
      peers: this.peers,
    };
  }
}

class Harness {
  readonly reports: { kind: RuleKind; message: string }[] = [];
  readonly rules: RuleMonitor;
  now = 0;
  constructor(checkQuorumElectionTicks?: number) {
    this.rules = new RuleMonitor(
      { checkQuorumElectionTicks },
      (kind, message) => this.reports.push({ kind, message }),
      () => this.now,
    );
  }
  observe(node: NodeId, view: View): void {
    this.rules.observe(node, view.status(), { entriesFrom: (low) => view.log.slice(low - 1) });
  }
  /** `voters` durably voted for `candidate` in `term`. */
  vote(term: Term, candidate: NodeId, voters: readonly NodeId[]): void {
    for (const voter of voters) this.rules.persisted(voter, [], undefined, { term, vote: candidate, commit: 0 });
  }
  /** `node` durably holds `entries`. */
  persist(node: NodeId, entries: readonly Entry[]): void {
    this.rules.persisted(node, entries, undefined, { term: 0, vote: 0, commit: 0 });
  }
  kinds(): RuleKind[] {
    return this.reports.map((r) => r.kind);
  }
}

/** Node 1 as leader of `term` (elected by nodes 1 and 2) with `log`, commit `commit`. */
function leader(h: Harness, term: Term, log: Entry[], commit: LogIndex): View {
  const view = new View();
  view.role = 'leader';
  view.term = term;
  view.log = log;
  view.commit = commit;
  h.vote(term, 1, [1, 2]);
  h.observe(1, view);
  return view;
}

test('§5.2: a leader without durable votes from a majority of its term breaks vote-quorum', () => {
  const h = new Harness();
  h.vote(2, 1, [1]);
  h.vote(2, 3, [2]); // node 2 voted for someone else
  const view = new View();
  view.role = 'leader';
  view.term = 2;
  view.log = [entry(1, 2)];
  h.observe(1, view);
  assert.deepEqual(h.kinds(), ['vote-quorum']);
  assert.match(h.reports[0]?.message ?? '', /§5\.2/);
  const fine = new Harness();
  leader(fine, 2, [entry(1, 2)], 0);
  assert.deepEqual(fine.kinds(), []);
  // A voter that granted the vote and moved to a later term before writing it is
  // bound all the same: it can never vote again in term 2.
  const later = new Harness();
  later.vote(2, 1, [1]);
  later.rules.persisted(2, [], undefined, { term: 3, vote: 0, commit: 0 });
  const view2 = new View();
  view2.role = 'leader';
  view2.term = 2;
  view2.log = [entry(1, 2)];
  later.observe(1, view2);
  assert.deepEqual(later.kinds(), []);
});

test('§5.4.2, Figure 8: a leader that commits an entry of an earlier term by counting replicas breaks commit-own-term', () => {
  const log = [entry(1, 1), entry(2, 1), entry(3, 2)];
  const h = new Harness();
  for (const node of [1, 2]) h.persist(node, log);
  const view = leader(h, 2, log, 0);
  view.peers = [
    { id: 1, match: 3 },
    { id: 2, match: 2 },
  ];
  view.commit = 2;
  h.observe(1, view);
  assert.deepEqual(h.kinds(), ['commit-own-term']);
  assert.match(h.reports[0]?.message ?? '', /Figure 8/);
  // Done right: the commit index moves to the no-op of term 2, taking 2 with it.
  const fine = new Harness();
  for (const node of [1, 2]) fine.persist(node, log);
  const good = leader(fine, 2, log, 0);
  good.peers = [
    { id: 1, match: 3 },
    { id: 2, match: 3 },
  ];
  good.commit = 3;
  fine.observe(1, good);
  assert.deepEqual(fine.kinds(), []);
});

test('Figure 2, thesis §10.2.1: a leader that counts its own copy before its fsync breaks quorum-durability', () => {
  const log = [entry(1, 1), entry(2, 1)];
  const h = new Harness();
  h.persist(1, [entry(1, 1)]); // the leader's own write of entry 2 is still in flight
  h.persist(2, log);
  h.persist(3, log);
  const view = leader(h, 1, log, 1);
  view.peers = [
    { id: 1, match: 2 },
    { id: 2, match: 2 },
  ];
  view.commit = 2;
  h.observe(1, view);
  assert.deepEqual(h.kinds(), ['quorum-durability']);
  assert.match(h.reports[0]?.message ?? '', /its own copy/);
});

test('Figure 2: a leader that counts a follower acknowledgement of entries not on its disk breaks quorum-durability', () => {
  const log = [entry(1, 1), entry(2, 1)];
  const h = new Harness();
  h.persist(1, log);
  h.persist(2, [entry(1, 1)]); // node 2 acknowledged 2 before writing it
  const view = leader(h, 1, log, 1);
  view.peers = [
    { id: 1, match: 2 },
    { id: 2, match: 2 },
  ];
  view.commit = 2;
  h.observe(1, view);
  assert.deepEqual(h.kinds(), ['quorum-durability']);
  assert.match(h.reports[0]?.message ?? '', /node 2's copy/);
  // The copy on disk counts once written; a snapshot counts for what it covers.
  const fine = new Harness();
  fine.persist(1, log);
  fine.rules.persisted(
    2,
    [],
    { meta: { index: 2, term: 1, config: { voters: [1, 2, 3], learners: [] } }, data: new Uint8Array() },
    { term: 1, vote: 0, commit: 2 },
  );
  const good = leader(fine, 1, log, 1);
  good.peers = [
    { id: 1, match: 2 },
    { id: 2, match: 2 },
  ];
  good.commit = 2;
  fine.observe(1, good);
  assert.deepEqual(fine.kinds(), []);
});

test('§5.3: a commit index past what a majority durably holds breaks quorum-durability even without a counted peer', () => {
  const log = [entry(1, 1)];
  const h = new Harness();
  h.persist(1, log);
  const view = leader(h, 1, log, 0);
  view.commit = 1;
  h.observe(1, view);
  assert.deepEqual(h.kinds(), ['quorum-durability']);
  assert.match(h.reports[0]?.message ?? '', /durable on only 1/);
});

test('thesis §4.1: a configuration change before the leader commits an entry of its term breaks config-change-safety', () => {
  const h = new Harness();
  const view = leader(h, 2, [entry(1, 1), entry(2, 2)], 1);
  view.log = [...view.log, config(entry(3, 2))];
  h.observe(1, view);
  assert.deepEqual(h.kinds(), ['config-change-safety']);
  assert.match(h.reports[0]?.message ?? '', /before committing an entry of its term/);
});

test('thesis §4.1: a second configuration change while one is uncommitted breaks config-change-safety', () => {
  const h = new Harness();
  const view = leader(h, 2, [entry(1, 1), entry(2, 2)], 2);
  view.log = [...view.log, config(entry(3, 2))];
  h.observe(1, view);
  assert.deepEqual(h.kinds(), [], 'one change after the first own-term commit is fine');
  view.log = [...view.log, entry(4, 2), config(entry(5, 2))];
  h.observe(1, view);
  assert.deepEqual(h.kinds(), ['config-change-safety']);
  assert.match(h.reports[0]?.message ?? '', /the one at 3 is not committed/);
  // Done right: the first change commits before the second is appended.
  const fine = new Harness();
  const good = leader(fine, 2, [entry(1, 1), entry(2, 2)], 2);
  for (const node of [1, 2]) fine.persist(node, [entry(1, 1), entry(2, 2), config(entry(3, 2))]);
  good.log = [...good.log, config(entry(3, 2))];
  fine.observe(1, good);
  good.peers = [
    { id: 1, match: 3 },
    { id: 2, match: 3 },
  ];
  good.commit = 3;
  fine.observe(1, good);
  good.log = [...good.log, config(entry(4, 2))];
  fine.observe(1, good);
  assert.deepEqual(fine.kinds(), []);
});

test('thesis §6.4: a read released below a commit index known when it was invoked breaks read-index-stale', () => {
  const h = new Harness();
  const other = new View();
  other.log = [entry(1, 1), entry(2, 1), entry(3, 1)];
  other.commit = 3;
  h.observe(2, other);
  h.rules.readInvoked(1, 'r1');
  h.rules.readReleased(1, 'r1', 2);
  assert.deepEqual(h.kinds(), ['read-index-stale']);
  // A commit index reached after the read was invoked does not bind it.
  const fine = new Harness();
  fine.rules.readInvoked(1, 'r2');
  fine.observe(2, other);
  fine.rules.readReleased(1, 'r2', 2);
  assert.deepEqual(fine.kinds(), []);
});

test('thesis §6.4 step 1: a leader that releases a read before committing an entry of its term breaks read-index-own-term', () => {
  const h = new Harness();
  leader(h, 2, [entry(1, 1), entry(2, 1), entry(3, 2)], 2);
  const answer: Message = { type: 'readIndexResponse', from: 1, to: 2, term: 2, readId: 'r', index: 2 };
  h.rules.sent(answer);
  assert.deepEqual(h.kinds(), ['read-index-own-term']);
  h.rules.readInvoked(1, 'local');
  const confirmation: Message = { type: 'heartbeatResponse', from: 2, to: 1, term: 2, seq: 1, lastIndex: 3 };
  h.rules.sent(confirmation);
  h.rules.delivered(confirmation);
  h.rules.readReleased(1, 'local', 2);
  assert.deepEqual(h.kinds(), ['read-index-own-term', 'read-index-own-term']);
  h.rules.sent({ ...answer, index: 3 });
  assert.equal(h.reports.length, 2, 'a read at the no-op of the term is fine');
});

test('thesis §6.2: a leader that hears from no majority for two election timeouts and still leads breaks check-quorum', () => {
  const electionTicks = 5;
  const h = new Harness(electionTicks);
  leader(h, 1, [entry(1, 1)], 0);
  for (let tick = 0; tick < 2 * electionTicks; tick++) h.rules.ticked(1, tick);
  assert.deepEqual(h.kinds(), [], 'within the bound');
  h.rules.ticked(1, 2 * electionTicks);
  assert.deepEqual(h.kinds(), ['check-quorum']);
  // Hearing from one other voter (with itself, a majority of 3) keeps it leading.
  const fine = new Harness(electionTicks);
  leader(fine, 1, [entry(1, 1)], 0);
  for (let tick = 0; tick < 10 * electionTicks; tick++) {
    fine.rules.delivered({ type: 'heartbeatResponse', from: 2, to: 1, term: 1, seq: tick, lastIndex: 1 });
    fine.rules.ticked(1, tick);
  }
  assert.deepEqual(fine.kinds(), []);
  // Without check-quorum there is no bound, only the availability measure.
  const off = new Harness(undefined);
  leader(off, 1, [entry(1, 1)], 0);
  for (let tick = 0; tick < 100; tick++) off.rules.ticked(1, tick * 10);
  assert.deepEqual(off.kinds(), []);
  assert.ok(off.rules.longestLeaderlessSteps(1000) >= 900, 'a leader that hears from nobody is no leader that can commit');
});

test('thesis §6.4: a leader that releases a read on answers sent before the read was invoked breaks read-index-confirmation', () => {
  const h = new Harness();
  leader(h, 1, [entry(1, 1)], 1);
  const answer = (seq: number): Message => ({ type: 'heartbeatResponse', from: 2, to: 1, term: 1, seq, lastIndex: 1 });
  h.now = 10;
  const stale = answer(1);
  h.rules.sent(stale); // an answer to a round before the read...
  h.now = 20;
  h.rules.readInvoked(1, 'r');
  h.now = 30;
  h.rules.delivered(stale); // ...arriving late, after it
  h.rules.readReleased(1, 'r', 1);
  assert.deepEqual(h.kinds(), ['read-index-confirmation']);
  assert.match(h.reports[0]?.message ?? '', /invoked at step 20/);
  // Done right: an answer sent after the invocation confirms it.
  h.rules.readInvoked(1, 'r2');
  h.now = 40;
  const fresh = answer(2);
  h.rules.sent(fresh);
  h.rules.delivered(fresh);
  h.rules.readReleased(1, 'r2', 1);
  assert.equal(h.reports.length, 1);
});

test('Figure 2: a follower that commits past the last entry an append verified breaks follower-commit', () => {
  const h = new Harness();
  const follower = new View();
  follower.log = [entry(1, 1), entry(2, 1), entry(3, 1)]; // 3 is a stale entry of an old leader
  follower.commit = 1;
  h.observe(2, follower);
  const append: Message = { type: 'append', from: 1, to: 2, term: 2, prevIndex: 1, prevTerm: 1, entries: [entry(2, 1)], commit: 3 };
  h.rules.stepping(2, append);
  follower.commit = 3;
  h.observe(2, follower);
  assert.deepEqual(h.kinds(), ['follower-commit']);
  assert.match(h.reports[0]?.message ?? '', /from 1 to 3 on an append of 2\.\.2 with commit 3/);
  // Done right: up to the last entry the append carried; a heartbeat's capped commit.
  const fine = new Harness();
  follower.commit = 1;
  fine.observe(2, follower);
  fine.rules.stepping(2, append);
  follower.commit = 2;
  fine.observe(2, follower);
  fine.rules.stepping(2, { type: 'heartbeat', from: 1, to: 2, term: 2, commit: 3, seq: 1 });
  follower.commit = 3;
  fine.observe(2, follower);
  assert.deepEqual(fine.kinds(), []);
  // A tick moves no follower's commit index.
  follower.commit = 4;
  follower.log = [...follower.log, entry(4, 2)];
  fine.observe(2, follower);
  assert.deepEqual(fine.kinds(), ['follower-commit']);
  // A snapshot received whole commits up to its own index, not past it; stepping its chunks commits nothing.
  const snapshot = new Harness();
  snapshot.observe(2, follower);
  const meta = { index: 8, term: 2, config: { voters: [1, 2, 3], learners: [] } };
  snapshot.rules.snapshotReceived(2, meta);
  follower.commit = 8;
  snapshot.observe(2, follower);
  assert.deepEqual(snapshot.kinds(), []);
  snapshot.rules.stepping(2, { type: 'snapshot', from: 1, to: 2, term: 2, meta: { ...meta, index: 9 }, offset: 0, data: new Uint8Array(1), done: true });
  follower.commit = 9;
  snapshot.observe(2, follower);
  assert.deepEqual(snapshot.kinds(), ['follower-commit']);
  assert.match(snapshot.reports[0]?.message ?? '', /from 8 to 9 on a snapshot from node 1/);
});
