/**
 * Randomized crash testing of the WAL through the fault-injecting file system.
 *
 * Each seed drives a WAL through appends, suffix overwrites, hard state changes,
 * compactions, restores and restarts, while power cuts strike at random calls
 * (including in the middle of recovery itself) and the crash keeps a random part
 * of what was not synced, possibly torn or zero-filled.
 *
 * The property: after every crash, the recovered state equals the state after
 * every completed save, plus the one operation that was in flight either wholly or
 * not at all. So everything a completed save covered is recovered exactly, nothing
 * recovered contradicts it, and no half of a save ever shows.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Entry, HardState, LogIndex, Term } from '../raft/types.js';
import { Prng } from '../lib/prng.js';
import { FaultFileSystem, PowerCutError } from './fault-file-system.js';
import type { CrashOptions } from './fault-file-system.js';
import { Wal, onlyMovesCommit } from './wal.js';
import type { WalState, WalUpdate } from './wal.js';

const DIR = '/n/wal';

type ModelRecord =
  | { type: 'entry'; entry: Entry }
  | { type: 'hardState'; hardState: HardState }
  | { type: 'snapshot' | 'restore'; index: LogIndex; term: Term };

/** What the log should be: a straightforward, independent rendering of the rules. */
class Model {
  constructor(
    readonly hardState: HardState = { term: 0, vote: 0, commit: 0 },
    readonly snapshotIndex: LogIndex = 0,
    readonly snapshotTerm: Term = 0,
    readonly entries: readonly Entry[] = [],
  ) {}

  get lastIndex(): LogIndex {
    return this.snapshotIndex + this.entries.length;
  }

  termAt(index: LogIndex): Term {
    return index === this.snapshotIndex ? this.snapshotTerm : (this.entries[index - this.snapshotIndex - 1] as Entry).term;
  }

  get lastTerm(): Term {
    return this.termAt(this.lastIndex);
  }

  apply(record: ModelRecord): Model {
    switch (record.type) {
      case 'entry': {
        const keep = this.entries.filter((e) => e.index < record.entry.index);
        return new Model(this.hardState, this.snapshotIndex, this.snapshotTerm, [...keep, record.entry]);
      }
      case 'hardState':
        return new Model(record.hardState, this.snapshotIndex, this.snapshotTerm, this.entries);
      case 'snapshot':
        return new Model(
          this.hardState,
          record.index,
          record.term,
          this.entries.filter((e) => e.index > record.index),
        );
      case 'restore':
        return new Model(this.hardState, record.index, record.term, []);
    }
  }

  matches(state: WalState): boolean {
    try {
      assert.deepEqual(
        { hardState: state.hardState, snapshotIndex: state.snapshotIndex, snapshotTerm: state.snapshotTerm, entries: state.entries },
        { hardState: this.hardState, snapshotIndex: this.snapshotIndex, snapshotTerm: this.snapshotTerm, entries: this.entries },
      );
      return true;
    } catch {
      return false;
    }
  }

  describe(): string {
    return `snapshot ${this.snapshotIndex}/${this.snapshotTerm}, entries ${this.entries[0]?.index ?? '-'}..${this.lastIndex}, hard state ${JSON.stringify(this.hardState)}`;
  }
}

type Op = { kind: 'save'; update: WalUpdate } | { kind: 'compact'; index: LogIndex; term: Term; keepEntriesAfter: LogIndex };

function recordsOf(op: Op, model: Model): ModelRecord[] {
  if (op.kind === 'compact') return op.index > model.snapshotIndex ? [{ type: 'snapshot', index: op.index, term: op.term }] : [];
  const { snapshot, entries, hardState } = op.update;
  return [
    ...(snapshot ? [{ type: 'restore' as const, index: snapshot.index, term: snapshot.term }] : []),
    ...entries.map((entry) => ({ type: 'entry' as const, entry })),
    ...(hardState ? [{ type: 'hardState' as const, hardState }] : []),
  ];
}

function randomEntries(prng: Prng, from: LogIndex, count: number, term: Term): Entry[] {
  return Array.from({ length: count }, (_, i) => ({
    index: from + i,
    term,
    kind: prng.chance(0.1) ? ('config' as const) : ('normal' as const),
    data: Uint8Array.from({ length: prng.int(prng.chance(0.1) ? 600 : 60) }, () => prng.int(256)),
  }));
}

function generate(prng: Prng, m: Model): Op {
  const term = Math.max(m.hardState.term, m.lastTerm, 1);
  const commit = m.hardState.commit;
  const floor = Math.max(commit, m.snapshotIndex);
  const roll = prng.next();
  if (roll < 0.5) {
    const count = prng.between(1, 6);
    const entries = randomEntries(prng, m.lastIndex + 1, count, term);
    const hardState = prng.chance(0.6) ? { term, vote: prng.between(0, 3), commit: prng.between(commit, m.lastIndex + count) } : undefined;
    return { kind: 'save', update: { entries, ...(hardState ? { hardState } : {}) } };
  }
  if (roll < 0.62 && m.lastIndex > floor) {
    // A new leader overwrites the uncommitted suffix.
    const from = prng.between(floor + 1, m.lastIndex);
    const newTerm = term + 1;
    return {
      kind: 'save',
      update: { entries: randomEntries(prng, from, prng.between(1, 4), newTerm), hardState: { term: newTerm, vote: prng.between(1, 3), commit } },
    };
  }
  if (roll < 0.72) {
    return { kind: 'save', update: { entries: [], hardState: { term: term + prng.int(2), vote: prng.int(4), commit: prng.between(commit, m.lastIndex) } } };
  }
  if (roll < 0.86 && commit > m.snapshotIndex) {
    const index = prng.between(m.snapshotIndex + 1, commit);
    return { kind: 'compact', index, term: m.termAt(index), keepEntriesAfter: prng.between(m.snapshotIndex, index) };
  }
  if (roll < 0.93) {
    // A snapshot from the leader replaces the log.
    const index = prng.between(floor + 1, m.lastIndex + 10);
    const snapTerm = term + prng.int(2);
    const entries = prng.chance(0.5) ? randomEntries(prng, index + 1, prng.between(1, 3), snapTerm) : [];
    return { kind: 'save', update: { snapshot: { index, term: snapTerm }, entries, hardState: { term: snapTerm, vote: 0, commit: index } } };
  }
  return { kind: 'save', update: { entries: [], hardState: { term, vote: m.hardState.vote, commit: prng.between(commit, m.lastIndex) } } };
}

function crashOptions(prng: Prng): CrashOptions {
  switch (prng.int(4)) {
    case 0:
      return {};
    case 1:
      return { lastWrite: { mode: 'tear', keepBytes: prng.int(400) } };
    case 2:
      return { lastWrite: { mode: 'zero' } };
    default:
      return { prng: prng.fork() };
  }
}

async function runSeed(seed: number): Promise<{ crashes: number; truncations: number }> {
  const prng = new Prng(seed);
  const fs = new FaultFileSystem();
  const logs: string[] = [];
  const segmentBytesMax = prng.between(200, 3000);
  let crashes = 0;

  /** Opens, surviving power cuts during recovery itself; returns the recovered state. */
  const open = async (): Promise<{ wal: Wal; state: WalState }> => {
    for (;;) {
      if (prng.chance(0.2)) fs.crashAfter(prng.between(1, 4));
      try {
        const opened = await Wal.open({ fs, dir: DIR, segmentBytesMax, log: (m) => logs.push(m) });
        if (!fs.poweredOff) return opened;
      } catch (error) {
        if (!(error instanceof PowerCutError)) throw error;
      }
      crashes += 1;
      fs.crash(crashOptions(prng));
    }
  };

  let model = new Model();
  // The newest durable state. A save that only moves the commit index is not written
  // (onlyMovesCommit): the next write carries it (a new segment's header included), so
  // a crash before that recovers the commit index of the last one written.
  let durable = model;
  let { wal } = await open();
  for (let step = 0; step < 80; step++) {
    const op = generate(prng, model);
    const records = recordsOf(op, model);
    if (prng.chance(0.2)) fs.crashAfter(prng.between(1, 5));
    try {
      if (op.kind === 'save') await wal.save(op.update);
      else await wal.compact({ index: op.index, term: op.term }, { keepEntriesAfter: op.keepEntriesAfter });
      const synced = op.kind === 'compact' || !onlyMovesCommit(op.update, model.hardState);
      for (const r of records) model = model.apply(r);
      if (synced) durable = model;
      if (prng.chance(0.05)) {
        await wal.close();
        const reopened = await open();
        wal = reopened.wal;
        durable = model;
        assert.ok(model.matches(reopened.state), `seed ${seed} step ${step}: after a clean restart expected ${model.describe()}`);
      }
      continue;
    } catch (error) {
      if (!(error instanceof PowerCutError)) throw new Error(`seed ${seed} step ${step}: ${String(error)}`, { cause: error });
    }
    crashes += 1;
    fs.crash(crashOptions(prng));
    const reopened = await open().catch((error: unknown) => {
      throw new Error(`seed ${seed} step ${step}: recovery failed after a crash: ${String(error)}`, { cause: error });
    });
    wal = reopened.wal;
    // Acceptable: the last completed save that was written, with or without the commit
    // index saved since (a segment cut before the in-flight operation carries it), and
    // the in-flight operation wholly.
    const candidates = [durable, model, records.reduce((m, r) => m.apply(r), model)];
    const match = candidates.find((c) => c.matches(reopened.state));
    assert.ok(
      match,
      `seed ${seed} step ${step}: recovered snapshot ${reopened.state.snapshotIndex}, entries ..${reopened.state.entries.at(-1)?.index ?? '-'}, hard state ${JSON.stringify(reopened.state.hardState)}; ` +
        `expected one of:\n  ${candidates.map((c) => c.describe()).join('\n  ')}`,
    );
    model = match;
    durable = model;
    const compacted = reopened.state.compacted;
    compacted.forEach((e, i) => assert.equal(e.index, model.snapshotIndex - compacted.length + 1 + i, `seed ${seed}: compacted entries end at the snapshot`));
  }
  await wal.close().catch(() => undefined);
  return { crashes, truncations: logs.filter((l) => l.includes('torn tail')).length };
}

test('wal under random crashes: every completed save is recovered exactly, nothing recovered contradicts it (300 seeds)', async () => {
  let crashes = 0;
  let truncations = 0;
  for (let seed = 1; seed <= 300; seed++) {
    const result = await runSeed(seed);
    crashes += result.crashes;
    truncations += result.truncations;
  }
  // The run must actually have exercised crashes and torn-tail recovery.
  assert.ok(crashes > 1000, `${crashes} crashes`);
  assert.ok(truncations > 100, `${truncations} torn tails truncated`);
});
