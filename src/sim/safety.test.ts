import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Entry, HardState, LogIndex, Message, NodeId, Ready, Role, Term } from '../raft/types.js';
import type { RuleStatus } from './rule-monitor.js';
import { type ObservedCore, SafetyMonitor } from './safety.js';
import { SyncedLog } from './synced-log.js';
import { Trace } from './trace.js';

function entry(index: number, term: number, text = `e${index}`): Entry {
  return { index, term, kind: 'normal', data: new TextEncoder().encode(text) };
}

/** A stand-in core whose status and log the test sets by hand. */
class FakeCore implements ObservedCore {
  role: Role = 'follower';
  term: Term = 1;
  commit: LogIndex = 0;
  log: Entry[] = [];
  voters: NodeId[] = [1, 2, 3, 4, 5];
  peers: { id: NodeId; match: LogIndex }[] = [];
  checkInvariants(): void {}
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
  entriesFrom(low: LogIndex): readonly Entry[] {
    return this.log.slice(low - 1);
  }
}

/** A disk on which these entries and this hard state were synced. */
function diskWith(entries: readonly Entry[], hardState?: HardState): SyncedLog {
  const disk = new SyncedLog();
  const ready: Ready = {
    softState: undefined,
    hardState,
    entries,
    snapshot: undefined,
    snapshotChunks: [],
    messages: [],
    committedEntries: [],
    readStates: [],
  };
  disk.persisted(ready);
  return disk;
}

function monitor(): SafetyMonitor {
  return new SafetyMonitor(new Trace(false, 1));
}

/** Puts on the voters' disks their votes for `candidate` in `term` (§5.2), so that
 * the candidate may become leader without breaking the vote-quorum rule. */
function voteFor(m: SafetyMonitor, term: Term, candidate: NodeId, voters: readonly NodeId[]): void {
  for (const voter of voters) {
    m.persisted(voter, [], undefined, diskWith([], { term, vote: candidate, commit: 0 }));
  }
}

test('two leaders in one term break election safety', () => {
  const m = monitor();
  const a = new FakeCore();
  const b = new FakeCore();
  a.role = 'leader';
  b.role = 'leader';
  voteFor(m, 1, 1, [1, 2, 3]);
  m.observe(1, a);
  assert.equal(m.ok, true);
  m.observe(2, b);
  assert.equal(m.violations[0]?.kind, 'election-safety');
});

test('a commit index that goes back without a restart is caught', () => {
  const m = monitor();
  const core = new FakeCore();
  core.log = [entry(1, 1), entry(2, 1)];
  core.commit = 2;
  m.observe(1, core);
  core.commit = 1;
  m.observe(1, core);
  assert.equal(m.violations[0]?.kind, 'commit-monotonic');
});

test('a new leader without an entry committed in an earlier term breaks leader completeness', () => {
  const m = monitor();
  const follower = new FakeCore();
  follower.log = [entry(1, 1), entry(2, 1)];
  follower.commit = 2;
  m.observe(1, follower);
  const leader = new FakeCore();
  leader.term = 2;
  leader.role = 'leader';
  leader.log = [entry(1, 1), entry(2, 2, 'other')];
  voteFor(m, 2, 2, [2, 3, 4]);
  m.observe(2, leader);
  assert.equal(m.violations[0]?.kind, 'leader-completeness');
});

test('a leader of a term before the commit need not hold the entry', () => {
  const m = monitor();
  const follower = new FakeCore();
  follower.term = 3;
  follower.log = [entry(1, 3)];
  follower.commit = 1;
  m.observe(1, follower);
  const stale = new FakeCore();
  stale.term = 2;
  stale.role = 'leader';
  voteFor(m, 2, 2, [2, 3, 4]);
  m.observe(2, stale);
  assert.equal(m.ok, true);
});

test('two different entries persisted at one index and term break log matching', () => {
  const m = monitor();
  m.persisted(1, [entry(1, 1), entry(2, 1)], undefined, diskWith([entry(1, 1), entry(2, 1)]));
  m.persisted(2, [entry(1, 1), entry(2, 1, 'different')], undefined, diskWith([entry(1, 1), entry(2, 1, 'different')]));
  assert.equal(m.violations[0]?.kind, 'log-matching');
});

test('the same entry after different predecessors breaks log matching', () => {
  const m = monitor();
  m.persisted(1, [entry(2, 2)], undefined, diskWith([entry(1, 1), entry(2, 2)]));
  m.persisted(2, [entry(2, 2)], undefined, diskWith([entry(1, 2, 'x'), entry(2, 2)]));
  assert.equal(m.violations[0]?.kind, 'log-matching');
});

test('different state machines after the same index break state machine safety', () => {
  const m = monitor();
  m.applied(1, entry(1, 1), 111);
  m.applied(2, entry(1, 1), 111);
  assert.equal(m.ok, true);
  m.applied(3, entry(1, 1), 222);
  assert.equal(m.violations[0]?.kind, 'state-machine-safety');
  const n = monitor();
  n.applied(1, entry(1, 1), 111);
  n.applied(2, entry(1, 2, 'other'), 111);
  assert.equal(n.violations[0]?.kind, 'state-machine-safety');
});

test('a vote or an acknowledgement sent before its state is on disk breaks the persistence contract', () => {
  const disk = diskWith([entry(1, 1)], { term: 2, vote: 0, commit: 0 });
  const vote: Message = { type: 'voteResponse', from: 1, to: 3, term: 2, granted: true };
  const m = monitor();
  m.sent(vote, disk);
  assert.equal(m.violations[0]?.kind, 'persistence');
  const ack: Message = { type: 'appendResponse', from: 1, to: 3, term: 2, success: true, index: 5, hintIndex: 0, hintTerm: 0 };
  const n = monitor();
  n.sent(ack, disk);
  assert.equal(n.violations[0]?.kind, 'persistence');
  const fine = monitor();
  fine.sent({ ...ack, index: 1 }, disk);
  fine.sent({ type: 'preVote', from: 1, to: 2, term: 3, lastLogIndex: 1, lastLogTerm: 1, transfer: false }, disk);
  assert.equal(fine.ok, true);
  const ahead = monitor();
  ahead.sent({ type: 'heartbeat', from: 1, to: 2, term: 3, commit: 0, seq: 1 } as Message, disk);
  assert.equal(ahead.violations[0]?.kind, 'persistence');
});

test('a leader that shrinks its log breaks leader append-only', () => {
  const m = monitor();
  const core = new FakeCore();
  core.role = 'leader';
  core.log = [entry(1, 1), entry(2, 1)];
  voteFor(m, 1, 1, [1, 2, 3]);
  m.observe(1, core);
  core.log = [entry(1, 1)];
  m.observe(1, core);
  assert.equal(m.violations[0]?.kind, 'leader-append-only');
});
