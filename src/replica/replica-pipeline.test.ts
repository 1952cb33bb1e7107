import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { NodeFileSystem, type FileHandle, type OpenMode } from '../storage/file-system.js';
import { ForwardingFileSystem } from '../storage/forwarding-file-system.js';
import { nodeConfigDefaults, type NodeConfig } from './config.js';
import type { AppendResponse, Entry, Message } from '../raft/types.js';
import { Replica } from './replica.js';
import { realPorts } from '../server/testing/replica-ports.js';

// The replica's pipeline on a real disk whose fsyncs the test holds: what waits for
// a write, and what does not (replica.ts, drain; thesis §10.2.1).

/** Forwards to the real file system; while `holding`, each fsync (and durable write) waits for release(). */
class HeldSyncs extends ForwardingFileSystem {
  holding = false;
  held = 0;
  private waiting: (() => void)[] = [];

  release(): void {
    this.holding = false;
    for (const resume of this.waiting.splice(0)) resume();
  }

  override async open(path: string, mode: OpenMode): Promise<FileHandle> {
    const handle = await this.inner.open(path, mode);
    const hold = async (): Promise<void> => {
      if (!this.holding) return;
      this.held++;
      await new Promise<void>((resume) => this.waiting.push(resume));
    };
    return Object.assign(Object.create(handle) as FileHandle, {
      writeDurably: async (data: Uint8Array, position: number) => {
        await hold();
        await handle.writeDurably(data, position);
      },
      datasync: async () => {
        await hold();
        await handle.datasync();
      },
      sync: async () => {
        await hold();
        await handle.sync();
      },
    });
  }
}

/** Waits, turn by turn, for `condition`; fails after a deadline. */
async function until(condition: () => boolean, what: string, deadlineMs = 5_000): Promise<void> {
  const start = performance.now();
  while (!condition()) {
    if (performance.now() - start > deadlineMs) assert.fail(`timed out waiting until ${what}`);
    await new Promise((resolve) => setImmediate(resolve));
  }
}

const noop = (index: number): Entry => ({ index, term: 1, kind: 'normal', data: new Uint8Array(0) });

test('a follower acknowledges an entry only once its write is durable, and applies a committed durable entry while the next write is held', {
  timeout: 20_000,
}, async () => {
  const dataDir = await mkdtemp(join(tmpdir(), 'keel-replica-pipeline-'));
  const members = [1, 2, 3].map((id) => ({ id, host: '127.0.0.1', peerPort: 1000 + id, clientPort: 2000 + id }));
  const config: NodeConfig = { ...nodeConfigDefaults, id: 2, members, dataDir, logLevel: 'silent' };
  const fs = new HeldSyncs(new NodeFileSystem());
  const sent: Message[] = [];
  const replica = await Replica.open({
    config,
    raftDir: join(dataDir, 'raft'),
    ports: realPorts(dataDir, { send: (message) => sent.push(message), updatePeers: () => {}, connectedPeers: () => new Set([1, 3]) }, fs),
  });
  const acks = (index: number): AppendResponse[] => sent.filter((m): m is AppendResponse => m.type === 'appendResponse' && m.success && m.index === index);
  try {
    replica.start();
    // Leader 1 of term 1 sends entry 1; the follower's write of it is held.
    fs.holding = true;
    replica.receive({ type: 'append', from: 1, to: 2, term: 1, prevIndex: 0, prevTerm: 0, entries: [noop(1)], commit: 0 });
    await until(() => fs.held > 0, 'the write of entry 1 is at its fsync');
    // Turns pass with the fsync held: no acknowledgement may leave.
    for (let turn = 0; turn < 20; turn++) await new Promise((resolve) => setImmediate(resolve));
    assert.deepEqual(acks(1), [], 'acknowledged before the entry was durable');
    fs.release();
    await until(() => acks(1).length === 1, 'entry 1 is acknowledged once durable');

    // Entry 2 arrives with the leader's commit of 1; its write is held. Entry 1,
    // durable here and now committed, applies without waiting for that write.
    fs.holding = true;
    replica.receive({ type: 'append', from: 1, to: 2, term: 1, prevIndex: 1, prevTerm: 1, entries: [noop(2)], commit: 1 });
    await until(() => fs.held >= 2, 'the write of entry 2 is at its fsync');
    await until(() => replica.raftStatus().applied === 1, 'entry 1 applies while the write of entry 2 is held');
    assert.deepEqual(acks(2), [], 'entry 2 acknowledged before it was durable');
    assert.equal(replica.raftStatus().persisted, 1);
    fs.release();
    await until(() => acks(2).length === 1, 'entry 2 is acknowledged once durable');
    assert.equal(replica.raftStatus().persisted, 2);
  } finally {
    fs.release();
    await replica.stop();
    await rm(dataDir, { recursive: true, force: true });
  }
});

test("a Ready's messages that need no write leave at once, before its entries are applied, when it has entries to apply", { timeout: 20_000 }, async () => {
  const dataDir = await mkdtemp(join(tmpdir(), 'keel-replica-pipeline-'));
  const members = [1, 2, 3].map((id) => ({ id, host: '127.0.0.1', peerPort: 1000 + id, clientPort: 2000 + id }));
  const config: NodeConfig = { ...nodeConfigDefaults, id: 2, members, dataDir, logLevel: 'silent' };
  let replica: Replica | undefined;
  const sent: { readonly message: Message; readonly atOnce: boolean; readonly appliedThen: number }[] = [];
  const record = (message: Message, atOnce: boolean): void => {
    sent.push({ message, atOnce, appliedThen: replica?.raftStatus().applied ?? 0 });
  };
  replica = await Replica.open({
    config,
    raftDir: join(dataDir, 'raft'),
    ports: realPorts(dataDir, {
      send: (message) => record(message, false),
      sendAtOnce: (message) => record(message, true),
      updatePeers: () => {},
      connectedPeers: () => new Set([1, 3]),
    }),
  });
  const started = replica;
  try {
    started.start();
    started.receive({ type: 'append', from: 1, to: 2, term: 1, prevIndex: 0, prevTerm: 0, entries: [noop(1)], commit: 0 });
    await until(() => sent.some(({ message }) => message.type === 'appendResponse'), 'entry 1 is acknowledged');
    // In one turn: a write this follower forwards to leader 1, and the leader's commit of
    // entry 1. The next Ready carries both: the forwarded proposal, then entry 1 to apply.
    // Never committed (the leader is not real): it fails when the replica stops.
    started.write({ type: 'put', key: new TextEncoder().encode('k'), value: new Uint8Array(1) }).catch(() => undefined);
    started.receive({ type: 'append', from: 1, to: 2, term: 1, prevIndex: 1, prevTerm: 1, entries: [], commit: 1, commitOnly: true });
    await until(() => started.raftStatus().applied === 1, 'entry 1 is applied');
    const forwarded = sent.filter(({ message }) => message.type === 'propose');
    assert.equal(forwarded.length, 1);
    assert.deepEqual(
      forwarded.map(({ atOnce, appliedThen }) => ({ atOnce, appliedThen })),
      [{ atOnce: true, appliedThen: 0 }],
      'written to the socket at once, before entry 1 was applied',
    );
  } finally {
    await started.stop();
    await rm(dataDir, { recursive: true, force: true });
  }
});
