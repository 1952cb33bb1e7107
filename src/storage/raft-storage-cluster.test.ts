/**
 * Three RaftNodes, each with its own RaftStorage on its own fault-injecting disk.
 * Nodes are cut off (so they fall behind and get a snapshot from the leader), lose
 * power at random moments, and restart from what their disk holds. The check is
 * state machine safety across all of it: every node's applied commands are a prefix
 * of one history, before and after every restart.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Message, NodeId, Snapshot } from '../raft/types.js';
import { defaultRaftConfig } from '../raft/types.js';
import { RaftNode } from '../raft/node.js';
import { Prng } from '../lib/prng.js';
import { FaultFileSystem, PowerCutError } from './fault-file-system.js';
import { RaftStorage } from './raft-storage.js';
import { snapshotBytes } from '../raft/testing/snapshot-bytes.js';

const IDS: NodeId[] = [1, 2, 3];
const encode = (commands: string[]): Uint8Array => new TextEncoder().encode(JSON.stringify(commands));
const decode = (data: Uint8Array): string[] => JSON.parse(new TextDecoder().decode(data)) as string[];

interface Member {
  readonly id: NodeId;
  readonly fs: FaultFileSystem;
  storage: RaftStorage | undefined;
  node: RaftNode | undefined;
  applied: string[];
}

class Cluster {
  readonly members = new Map<NodeId, Member>();
  queue: Message[] = [];
  isolated: NodeId | undefined;
  /** The longest applied history seen; every node's applied list must be a prefix of it or extend it. */
  history: string[] = [];
  snapshotsInstalled = 0;
  powerCuts = 0;

  constructor(
    private readonly prng: Prng,
    private readonly seed: number,
  ) {
    for (const id of IDS) this.members.set(id, { id, fs: new FaultFileSystem(), storage: undefined, node: undefined, applied: [] });
  }

  async start(m: Member): Promise<void> {
    try {
      const { storage, persisted } = await RaftStorage.open({ fs: m.fs, dir: `/keel/${m.id}`, log: () => undefined, segmentBytesMax: 1024 });
      m.storage = storage;
      m.node = new RaftNode({ config: { ...defaultRaftConfig, id: m.id }, persisted, bootstrap: { voters: IDS, learners: [] }, random: this.prng.fork() });
      m.applied = persisted.snapshot ? decode(snapshotBytes(persisted.snapshot.data)) : [];
      this.check(m);
    } catch (error) {
      this.powerCut(m, error);
    }
  }

  private powerCut(m: Member, error: unknown): void {
    if (!(error instanceof PowerCutError)) throw error;
    this.powerCuts += 1;
    m.node = undefined;
    m.storage = undefined;
    m.fs.crash({ prng: this.prng.fork() });
  }

  /** The runtime's Ready loop for one node: persist, then send, then apply, then advance. */
  async drain(m: Member): Promise<void> {
    const node = m.node;
    const storage = m.storage;
    if (!node || !storage) return;
    try {
      while (node.hasReady()) {
        const ready = node.ready();
        await storage.saveReady(ready);
        this.queue.push(...ready.messages);
        if (ready.snapshot) {
          m.applied = decode(snapshotBytes(ready.snapshot.data));
          this.snapshotsInstalled += 1;
        }
        for (const e of ready.committedEntries) if (e.kind === 'normal' && e.data.length > 0) m.applied.push(new TextDecoder().decode(e.data));
        node.advance(ready);
        // A snapshot received whole is installed from its file (no check: every node here is correct).
        for (const chunk of ready.snapshotChunks)
          if (chunk.done) node.snapshotReceived(chunk.meta, { ok: true, data: await storage.receivedSnapshot(chunk.meta) });
        node.checkInvariants();
        this.check(m);
      }
    } catch (error) {
      this.powerCut(m, error);
    }
  }

  async compact(m: Member): Promise<void> {
    const { node, storage } = m;
    if (!node || !storage) return;
    const { applied, firstIndex } = node.status();
    if (applied - firstIndex < 6) return;
    node.compact({ index: applied, data: encode(m.applied) });
    try {
      await storage.saveSnapshot(node.currentSnapshot() as Snapshot);
    } catch (error) {
      this.powerCut(m, error);
    }
  }

  deliver(count: number): void {
    for (let i = 0; i < count && this.queue.length > 0; i++) {
      const msg = this.queue.shift() as Message;
      if (this.isolated === msg.to || this.isolated === msg.from) continue;
      const target = this.members.get(msg.to)?.node;
      if (target) {
        target.step(msg);
        target.checkInvariants();
      }
    }
  }

  leader(): Member | undefined {
    return [...this.members.values()].find((m) => m.node?.status().role === 'leader');
  }

  private check(m: Member): void {
    const shorter = m.applied.length <= this.history.length ? m.applied : this.history;
    const longer = shorter === m.applied ? this.history : m.applied;
    assert.deepEqual(shorter, longer.slice(0, shorter.length), `seed ${this.seed}: node ${m.id} applied a history that diverges`);
    if (longer === m.applied) this.history = [...m.applied];
  }
}

test('raft storage in a 3-node cluster: snapshots from the leader, partitions and power cuts never break state machine safety (40 seeds)', async () => {
  let installed = 0;
  let cuts = 0;
  let committed = 0;
  for (let seed = 1; seed <= 40; seed++) {
    const prng = new Prng(seed);
    const c = new Cluster(prng, seed);
    for (const m of c.members.values()) await c.start(m);
    let next = 0;
    for (let step = 0; step < 600; step++) {
      const roll = prng.next();
      if (roll < 0.3) {
        for (const m of c.members.values()) m.node?.tick();
      } else if (roll < 0.55) {
        const leader = c.leader();
        if (leader?.node) leader.node.propose(new TextEncoder().encode(`s${seed}-c${next++}`));
      } else if (roll < 0.6) {
        await c.compact(prng.pick([...c.members.values()]));
      } else if (roll < 0.62) {
        c.isolated = c.isolated === undefined ? prng.pick(IDS) : undefined;
      } else if (roll < 0.64) {
        prng.pick([...c.members.values()]).fs.crashAfter(prng.between(1, 8));
      } else if (roll < 0.68) {
        for (const m of c.members.values()) if (!m.node) await c.start(m);
      }
      c.deliver(prng.between(1, 20));
      for (const m of c.members.values()) await c.drain(m);
    }
    // Heal, restart everyone, and let the cluster settle: all must agree.
    c.isolated = undefined;
    for (const m of c.members.values()) if (!m.node) await c.start(m);
    for (let i = 0; i < 400; i++) {
      for (const m of c.members.values()) m.node?.tick();
      c.deliver(50);
      for (const m of c.members.values()) {
        if (!m.node) await c.start(m);
        await c.drain(m);
      }
    }
    installed += c.snapshotsInstalled;
    cuts += c.powerCuts;
    committed += c.history.length;
  }
  assert.ok(installed >= 20, `${installed} snapshots installed from a leader`);
  assert.ok(cuts >= 40, `${cuts} power cuts`);
  assert.ok(committed >= 40 * 20, `${committed} commands committed`);
});
