/**
 * Three production replicas in one process over simulated I/O: an in-memory file
 * system that loses what was not synced (storage/fault-file-system.ts), a clock that
 * moves only when the test says so, a message queue for a network and a task queue
 * for deferral, drained in a fixed order. The key-value store is LMDB in a temp dir
 * (each incarnation a fresh one, as a store discarded after a machine crash is). The
 * step to the simulator driving the replica (docs/internals/simulator.md).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Prng } from '../lib/prng.js';
import type { Message, NodeId } from '../raft/types.js';
import { FaultFileSystem } from '../storage/fault-file-system.js';
import { MvccStore } from '../kv/mvcc/mvcc-store.js';
import { nodeConfigDefaults, type NodeConfig } from './config.js';
import { silentLogger } from './logger.js';
import type { CommandResult } from '../kv/types.js';
import { Replica } from './replica.js';
import type { KeelError } from './errors.js';

const tickMs = 100;
const ids: readonly NodeId[] = [1, 2, 3];
const bytes = (text: string): Uint8Array => new TextEncoder().encode(text);
const text = (data: Uint8Array): string => new TextDecoder().decode(data);

interface SimNode {
  readonly id: NodeId;
  readonly fs: FaultFileSystem;
  replica: Replica | undefined;
  incarnation: number;
  /** The key-value store's directory of its last start. */
  kvDir?: string;
}

/** A cluster whose every input (ticks, deliveries, deferred tasks, fsyncs) happens when step() says. */
class World {
  nowMs = 0;
  readonly nodes = new Map<NodeId, SimNode>();
  private deferred: { readonly node: SimNode; readonly replica: Replica | undefined; readonly task: () => void }[] = [];
  private inFlight: Message[] = [];
  /** Every message delivered, in order: two runs of one seed must agree. */
  readonly deliveries: string[] = [];
  readonly fatal: unknown[] = [];
  /** Messages this says are lost on the way (a broken connection). */
  lose: (message: Message) => boolean = () => false;

  constructor(
    private readonly dir: string,
    private readonly random: Prng,
    private readonly tuning: {
      readonly snapshotEveryEntries?: number;
      readonly snapshotEveryLogBytes?: number;
      readonly snapshotLogPercent?: number;
      readonly snapshotChunkBytesMax?: number;
      readonly electionTicks?: number;
    } = {},
  ) {
    for (const id of ids) this.nodes.set(id, { id, fs: new FaultFileSystem(), replica: undefined, incarnation: 0 });
  }

  /** `keepStore`: open the key-value store of the last start again (after a clean stop; a power cut tears it). */
  async start(id: NodeId, keepStore = false): Promise<void> {
    const node = this.nodes.get(id) as SimNode;
    node.incarnation += 1;
    const config: NodeConfig = {
      ...nodeConfigDefaults,
      id,
      members: ids.map((member) => ({ id: member, host: '127.0.0.1', peerPort: 1000 + member, clientPort: 2000 + member })),
      dataDir: `/n${id}`,
      tickMs,
      logLevel: 'silent',
      // Small segments, as the simulator's: each start preallocates one in memory, and
      // 64 MiB of them took most of this file's time.
      walSegmentBytes: 1024 * 1024,
      ...(this.tuning.snapshotEveryEntries === undefined ? {} : { snapshotEveryEntries: this.tuning.snapshotEveryEntries }),
      ...(this.tuning.snapshotEveryLogBytes === undefined ? {} : { snapshotEveryLogBytes: this.tuning.snapshotEveryLogBytes }),
      ...(this.tuning.snapshotLogPercent === undefined ? {} : { snapshotLogPercent: this.tuning.snapshotLogPercent }),
      ...(this.tuning.electionTicks === undefined ? {} : { electionTicks: this.tuning.electionTicks }),
    };
    const random = this.random.fork();
    const kvDir = keepStore && node.kvDir ? node.kvDir : join(this.dir, `n${id}-kv-${node.incarnation}`);
    node.kvDir = kvDir;
    let replica: Replica | undefined;
    replica = await Replica.open({
      config,
      raftDir: `/n${id}/raft`,
      // Only snapshots from here on: a follower behind is sent one, not the entries the leader would keep.
      ...(this.tuning.snapshotChunkBytesMax === undefined
        ? {}
        : { raft: { snapshotChunkBytesMax: this.tuning.snapshotChunkBytesMax, snapshotCatchUpEntries: 0 } }),
      ports: {
        clock: { nowMs: () => this.nowMs, monotonicMs: () => this.nowMs },
        fs: node.fs,
        network: {
          send: (message) => this.inFlight.push(message),
          updatePeers: () => {},
          connectedPeers: () => new Set(ids.filter((other) => other !== id && this.nodes.get(other)?.replica !== undefined)),
        },
        openStore: () => MvccStore.open({ path: kvDir, sync: 'none', snapshotWorkerBytesMin: Infinity }),
        random: { int: (bound) => random.int(bound) },
        log: silentLogger,
        defer: (task) => this.deferred.push({ node, replica, task }),
        diskSpace: { freeBytes: 1 << 30, reserveBytes: 0, low: false, recovered: true },
        onFatal: (error) => this.fatal.push(error),
        onRemoved: () => {},
      },
    });
    node.replica = replica;
    replica.start();
    await this.settle();
  }

  /** Power cut: what was not synced is gone, and so is the process (its pending tasks and requests with it). */
  crash(id: NodeId): void {
    const node = this.nodes.get(id) as SimNode;
    node.replica = undefined;
    node.fs.crash();
    this.deferred = this.deferred.filter((entry) => entry.node !== node);
  }

  /** One tick of every running replica, after delivering what is in flight, then everything that follows from it. */
  async step(): Promise<void> {
    this.nowMs += tickMs;
    const arriving = this.inFlight;
    this.inFlight = [];
    for (const message of arriving) {
      const to = this.lose(message) ? undefined : this.nodes.get(message.to)?.replica;
      this.deliveries.push(`${this.nowMs} ${message.type} ${message.from}->${message.to} t${message.term}${to ? '' : ' lost'}`);
      to?.receive(message);
    }
    for (const node of this.nodes.values()) node.replica?.tick();
    await this.settle();
  }

  /** Runs deferred tasks in the order they were deferred, and lets the promises they start settle, until none is left. */
  async settle(): Promise<void> {
    for (let round = 0; round < 1000; round++) {
      // setImmediate runs once every microtask queued so far has: the replicas' awaits
      // on the in-memory file system all resolve in microtasks.
      await new Promise((resolve) => setImmediate(resolve));
      const tasks = this.deferred;
      if (tasks.length === 0) return;
      this.deferred = [];
      for (const { node, replica, task } of tasks) if (node.replica === replica) task();
    }
    assert.fail('the replicas never went quiet');
  }

  leader(): Replica | undefined {
    return [...this.nodes.values()].map((node) => node.replica).find((replica) => replica?.raftStatus().role === 'leader');
  }

  async until<T>(what: string, value: () => T | undefined, stepsMax = 200): Promise<T> {
    for (let step = 0; step < stepsMax; step++) {
      const found = value();
      if (found !== undefined) return found;
      await this.step();
    }
    return assert.fail(`${what}: not within ${stepsMax} steps`);
  }

  /** A write through the leader, stepped until it answers. */
  async put(key: string, value: string): Promise<void> {
    const leader = await this.until('a leader', () => this.leader());
    let result: CommandResult | undefined;
    let failure: unknown;
    leader.write({ type: 'put', key: bytes(key), value: bytes(value) }).then(
      (r) => (result = r),
      (error: unknown) => (failure = error),
    );
    await this.until(`put ${key}`, () => (result !== undefined || failure !== undefined ? true : undefined));
    assert.equal(failure, undefined);
    assert.ok(result?.ok, JSON.stringify(result));
  }
}

/** Elects, writes, cuts the power of a follower mid-run and of the leader, and checks every replica converges. */
async function scenario(seed: number): Promise<{ deliveries: readonly string[]; values: readonly string[] }> {
  const dir = await mkdtemp(join(tmpdir(), 'keel-replica-sim-'));
  try {
    const world = new World(dir, new Prng(seed));
    for (const id of ids) await world.start(id);
    for (let i = 0; i < 10; i++) await world.put(`k${i % 3}`, `v${i}`);
    const follower = ids.find((id) => world.nodes.get(id)?.replica?.raftStatus().role === 'follower') as NodeId;
    world.crash(follower);
    for (let i = 10; i < 20; i++) await world.put(`k${i % 3}`, `v${i}`);
    await world.start(follower);
    const leaderId = (await world.until('a leader', () => world.leader())).raftStatus().id;
    world.crash(leaderId);
    for (let i = 20; i < 30; i++) await world.put(`k${i % 3}`, `v${i}`);
    await world.start(leaderId);
    // Every replica applies everything and holds the same values.
    const lastIndex = (await world.until('a leader', () => world.leader())).raftStatus().commit;
    await world.until('every replica applied', () =>
      [...world.nodes.values()].every((node) => (node.replica?.raftStatus().applied ?? 0) >= lastIndex) ? true : undefined,
    );
    assert.deepEqual(world.fatal, []);
    const values: string[] = [];
    for (const node of world.nodes.values()) {
      const read = await (node.replica as Replica).read({ type: 'range', key: bytes('k'), rangeEnd: bytes('l') }, 'serializable');
      assert.ok(read.ok);
      values.push(read.value.kvs.map((kv) => `${text(kv.key)}=${text(kv.value)}`).join(' '));
    }
    for (const node of world.nodes.values()) await node.replica?.stop();
    return { deliveries: world.deliveries, values };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

test('three replicas over a simulated disk, clock and network survive power cuts of a follower and of the leader, agree, and replay the same for the same seed', async () => {
  const first = await scenario(7);
  assert.deepEqual(first.values, Array(3).fill('k0=v27 k1=v28 k2=v29'));
  const again = await scenario(7);
  assert.deepEqual(again.deliveries, first.deliveries, 'the same seed delivered different messages');
  const other = await scenario(8);
  assert.deepEqual(other.values, first.values);
  assert.notDeepEqual(other.deliveries, first.deliveries, 'another seed should time the elections differently');
});

/**
 * A world of three replicas with small snapshots in small chunks, one follower of which
 * stopped after the first write and missed `puts` more: the leader has compacted past it.
 */
async function followerLeftBehind(dir: string, seed: number, puts: number): Promise<{ world: World; behind: NodeId; leader: Replica }> {
  const world = new World(dir, new Prng(seed), { snapshotEveryEntries: 8, snapshotChunkBytesMax: 256 });
  for (const id of ids) await world.start(id);
  await world.put('k', 'v0');
  const behind = ids.find((id) => world.nodes.get(id)?.replica?.raftStatus().role === 'follower') as NodeId;
  world.crash(behind);
  for (let i = 1; i <= puts; i++) await world.put(`k${i % 5}`, `value ${i} `.repeat(20));
  const leader = await world.until('a leader', () => world.leader());
  return { world, behind, leader };
}

test("a snapshot transfer cut off half way resumes where the follower's file ends, and the follower installs it from that file", async () => {
  const dir = await mkdtemp(join(tmpdir(), 'keel-replica-sim-'));
  try {
    const { world, behind, leader } = await followerLeftBehind(dir, 11, 40);
    assert.ok(leader.raftStatus().firstIndex > 3, 'the leader compacted past what the stopped follower holds');

    // What the follower says it holds of the snapshot, answer by answer, and whether the link was up.
    const held: { nextOffset: number; afterCut: boolean }[] = [];
    let cut = false;
    let healed = false;
    // How often each chunk went out to the follower while the link was up.
    const sends = new Map<number, number>();
    world.lose = (message) => {
      if (message.type === 'snapshot' && message.to === behind && !cut && !healed) sends.set(message.offset, (sends.get(message.offset) ?? 0) + 1);
      if (message.type === 'snapshotResponse' && message.from === behind && !message.done) {
        if (!cut) held.push({ nextOffset: message.nextOffset, afterCut: healed });
        // The connection breaks once the follower holds a few chunks, and stays broken for a while.
        if (!healed && message.nextOffset >= 4 * 256) cut = true;
      }
      return cut && (message.to === behind || message.from === behind);
    };
    await world.start(behind);
    await world.until('the transfer was cut', () => (cut ? true : undefined));
    for (let i = 0; i < 15; i++) await world.step();
    const heldBeforeCut = Math.max(...held.map((answer) => answer.nextOffset));
    cut = false;
    healed = true;
    const commit = leader.raftStatus().commit;
    await world.until('the follower caught up', () => ((world.nodes.get(behind)?.replica?.raftStatus().applied ?? 0) >= commit ? true : undefined));

    // A chunk answered within a heartbeat round or so is not sent again.
    assert.ok(Math.max(...sends.values()) <= 2, `chunks sent per offset before the cut: ${JSON.stringify([...sends])}`);
    const after = held.filter((answer) => answer.afterCut);
    assert.ok(after.length > 0, 'chunks flowed again after the connection healed');
    assert.ok(
      after.every((answer) => answer.nextOffset >= heldBeforeCut),
      `the follower kept the ${heldBeforeCut} bytes it held: its answers after the cut say ${after.map((answer) => answer.nextOffset).join(', ')}`,
    );
    const replica = world.nodes.get(behind)?.replica as Replica;
    assert.ok(replica.raftStatus().firstIndex > 3, 'the follower installed the snapshot');
    const read = await replica.read({ type: 'range', key: bytes('k'), rangeEnd: bytes('l') }, 'serializable');
    assert.ok(read.ok);
    assert.equal(read.value.kvs.length, 6, 'k and k0..k4');
    assert.deepEqual(world.fatal, []);
    for (const node of world.nodes.values()) await node.replica?.stop();
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('a follower whose power is cut mid-transfer goes on from the last checkpoint of its file when it comes back, not from byte 0', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'keel-replica-sim-'));
  try {
    const { world, behind, leader } = await followerLeftBehind(dir, 13, 60);

    // A checkpoint every 16 chunks of 256 bytes: the power goes when the follower holds 20.
    const checkpoint = 16 * 256;
    let held = 0;
    let restarted = false;
    const answersAfter: number[] = [];
    world.lose = (message) => {
      if (message.type === 'snapshotResponse' && message.from === behind) {
        if (restarted) answersAfter.push(message.nextOffset);
        else held = Math.max(held, message.nextOffset);
      }
      return false;
    };
    await world.start(behind);
    await world.until('the follower holds 20 chunks', () => (held >= 20 * 256 ? true : undefined));
    world.crash(behind);
    restarted = true;
    await world.start(behind);
    const commit = leader.raftStatus().commit;
    await world.until('the follower caught up', () => ((world.nodes.get(behind)?.replica?.raftStatus().applied ?? 0) >= commit ? true : undefined));
    assert.ok(
      answersAfter.length > 0 && answersAfter.every((offset) => offset >= checkpoint),
      `the follower kept the ${checkpoint} bytes it had made durable: its answers after the restart say ${answersAfter.join(', ')}`,
    );
    const replica = world.nodes.get(behind)?.replica as Replica;
    const read = await replica.read({ type: 'range', key: bytes('k'), rangeEnd: bytes('l') }, 'serializable');
    assert.ok(read.ok);
    assert.equal(read.value.kvs.length, 6, 'k and k0..k4');
    assert.deepEqual(world.fatal, []);
    for (const node of world.nodes.values()) await node.replica?.stop();
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('the log is compacted once the entries applied since the last snapshot reach snapshotEveryLogBytes, however few they are', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'keel-replica-sim-'));
  try {
    const world = new World(dir, new Prng(5), { snapshotEveryEntries: 1_000_000, snapshotEveryLogBytes: 16 * 1024 });
    for (const id of ids) await world.start(id);
    const leader = await world.until('a leader', () => world.leader());
    await world.put('small', 'x');
    assert.equal(leader.counters.snapshotsTaken, 0, 'a few small entries take no snapshot');
    const value = 'v'.repeat(3 * 1024);
    for (let i = 0; i < 6; i++) await world.put(`big${i}`, value);
    await world.until('every replica took a snapshot', () =>
      [...world.nodes.values()].every((node) => (node.replica?.counters.snapshotsTaken ?? 0) > 0) ? true : undefined,
    );
    assert.ok(
      (leader.inspectCore().currentSnapshot()?.meta.index ?? 0) <= 9,
      `after at most the eight entries so far: at ${leader.inspectCore().currentSnapshot()?.meta.index}`,
    );
    assert.deepEqual(world.fatal, []);
    for (const node of world.nodes.values()) await node.replica?.stop();
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('a snapshot waits until the entries applied since the last one reach snapshotLogPercent of its size', async () => {
  const taken: Record<number, number> = {};
  for (const percent of [0, 100]) {
    const dir = await mkdtemp(join(tmpdir(), 'keel-replica-sim-'));
    try {
      const world = new World(dir, new Prng(5), { snapshotEveryEntries: 1_000_000, snapshotEveryLogBytes: 4 * 1024, snapshotLogPercent: percent });
      for (const id of ids) await world.start(id);
      const leader = await world.until('a leader', () => world.leader());
      const value = 'v'.repeat(3 * 1024);
      for (let i = 0; i < 32; i++) {
        await world.put(`k${i}`, value);
        const snapshotBytes = leader.counters.snapshotLastBytes;
        if (percent === 100 && snapshotBytes > 0) {
          // Never a snapshot again before the log since the last holds as many bytes as it.
          assert.ok(
            leader.counters.snapshotsTaken <= 1 + Math.log2(((i + 1) * value.length) / 4096),
            `${leader.counters.snapshotsTaken} snapshots after ${i + 1} puts`,
          );
        }
      }
      taken[percent] = leader.counters.snapshotsTaken;
      assert.deepEqual(world.fatal, []);
      for (const node of world.nodes.values()) await node.replica?.stop();
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }
  assert.ok((taken[100] as number) >= 2, `snapshots are still taken: ${JSON.stringify(taken)}`);
  assert.ok((taken[0] as number) >= 3 * (taken[100] as number), `without the wait, a snapshot every 4 KiB: ${JSON.stringify(taken)}`);
});

test('a snapshot file the store holds is checked after the start: found damaged, it is moved aside and a new snapshot replaces it without waiting for the next one due', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'keel-replica-sim-'));
  try {
    const world = new World(dir, new Prng(9), { snapshotEveryEntries: 20, snapshotLogPercent: 0 });
    for (const id of ids) await world.start(id);
    const leader = await world.until('a leader', () => world.leader());
    for (let i = 0; i < 25; i++) await world.put(`k${i}`, `v${i}`);
    const follower = [...world.nodes.values()].find((node) => node.replica && node.replica !== leader) as SimNode;
    const before = follower.replica as Replica;
    await world.until('the follower took a snapshot', () => (before.counters.snapshotsTaken > 0 ? true : undefined));
    await before.stop();
    follower.replica = undefined;
    const snapDir = `/n${follower.id}/raft/snap`;
    const newest = (await follower.fs.list(snapDir))
      .filter((name) => name.endsWith('.snap'))
      .sort()
      .at(-1) as string;
    const size = (await follower.fs.readFile(`${snapDir}/${newest}`)).length;
    follower.fs.flipBit(`${snapDir}/${newest}`, size - 100);

    // The only snapshot it has: checked whole at open, the start would be refused (no older one to fall back on).
    assert.deepEqual(
      (await follower.fs.list(snapDir)).filter((name) => name.endsWith('.snap')),
      [newest],
    );
    const damagedIndex = Number(newest.slice(0, 16));
    await world.start(follower.id, true);
    const after = follower.replica as unknown as Replica;
    await world.until('the damage found', () => (after.counters.snapshotFilesDamaged > 0 ? true : undefined));
    assert.ok((await follower.fs.list(snapDir)).includes(`${newest}.corrupt`), 'moved aside');
    await world.put('one-more', 'x');
    await world.until('a new snapshot', () => (after.counters.snapshotsTaken > 0 ? true : undefined));
    const replacedAt = after.inspectCore().currentSnapshot()?.meta.index ?? 0;
    assert.ok(replacedAt > damagedIndex && replacedAt - damagedIndex < 20, `at ${replacedAt}: sooner than snapshotEveryEntries after ${damagedIndex}`);
    assert.deepEqual(world.fatal, []);
    for (const node of world.nodes.values()) await node.replica?.stop();
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('a write and a linearizable read that meet no leader wait for the election and succeed; with no quorum they fail NO_LEADER, not applied, after the wait', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'keel-replica-sim-'));
  try {
    const world = new World(dir, new Prng(3));
    for (const id of ids) await world.start(id);
    const first = world.nodes.get(1)?.replica as Replica;
    assert.equal(first.raftStatus().leader, 0, 'no leader is elected yet');
    let put: CommandResult | undefined;
    let got: string[] | undefined;
    void first.write({ type: 'put', key: bytes('k'), value: bytes('v') }).then((result) => (put = result));
    void first
      .read({ type: 'range', key: bytes('k') }, 'linearizable')
      .then((read) => (got = read.ok ? read.value.kvs.map((kv) => text(kv.value)) : ['refused']));
    await world.until('both answered', () => (put !== undefined && got !== undefined ? true : undefined));
    assert.ok(put?.ok, JSON.stringify(put));
    assert.ok(['', 'v'].includes((got as string[]).join()), JSON.stringify(got));

    // Two of three gone: the one left knows no leader for good.
    for (const id of [2, 3]) world.crash(id);
    await world.until('no leader known', () => (first.raftStatus().leader === 0 ? true : undefined));
    const waitMs = 3 * nodeConfigDefaults.electionTicks * tickMs;
    const askedAt = world.nowMs;
    const failures: { what: string; code: string; outcome: string; afterMs: number }[] = [];
    const failed = (what: string) => (error: KeelError) => failures.push({ what, code: error.code, outcome: error.outcome, afterMs: world.nowMs - askedAt });
    first.write({ type: 'put', key: bytes('k'), value: bytes('w') }).then(() => assert.fail('a write without quorum succeeded'), failed('put'));
    first.read({ type: 'range', key: bytes('k') }, 'linearizable').then(() => assert.fail('a read without quorum succeeded'), failed('get'));
    await world.until('both refused', () => (failures.length === 2 ? true : undefined), 2 * (waitMs / tickMs));
    for (const failure of failures) {
      assert.equal(failure.code, 'NO_LEADER', JSON.stringify(failure));
      assert.equal(failure.outcome, 'not-applied', JSON.stringify(failure));
      assert.ok(failure.afterMs >= waitMs && failure.afterMs <= waitMs + tickMs, `refused after the wait of ${waitMs} ms: ${JSON.stringify(failure)}`);
    }
    assert.deepEqual(world.fatal, []);
    await first.stop();
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test("a compaction whose old history outlasts its own entry is finished by the leader's no-ops on an idle cluster", async () => {
  const dir = await mkdtemp(join(tmpdir(), 'keel-replica-sim-'));
  try {
    const world = new World(dir, new Prng(9));
    for (const id of ids) await world.start(id);
    // Three thousand records of old history: more than one entry's compaction step.
    for (let i = 0; i < 1_500; i++) await world.put(`k${i % 10}`, `v${i}`);
    const leader = await world.until('a leader', () => world.leader());
    let compacted: CommandResult | undefined;
    void leader.write({ type: 'compact', revision: leader.status().revision }).then((result) => (compacted = result));
    await world.until('the compaction applied', () => compacted);
    assert.ok(compacted?.ok, JSON.stringify(compacted));
    assert.ok(
      [...world.nodes.values()].some((node) => node.replica?.status().compactionPending),
      'the old history is not all removed by the compaction entry itself',
    );
    // No client writes from here on.
    await world.until('every replica finished the compaction', () =>
      [...world.nodes.values()].every((node) => node.replica?.status().compactionPending === false) ? true : undefined,
    );
    const { lastIndex } = leader.raftStatus();
    for (let i = 0; i < 20; i++) await world.step();
    assert.equal(leader.raftStatus().lastIndex, lastIndex, 'no more no-ops once it is done');
    assert.deepEqual(world.fatal, []);
    for (const node of world.nodes.values()) await node.replica?.stop();
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test("a keep-alive that reaches a follower is renewed in the leader's memory with no log entry; with the leader gone it goes through the log", async () => {
  const dir = await mkdtemp(join(tmpdir(), 'keel-replica-sim-'));
  try {
    const world = new World(dir, new Prng(5));
    for (const id of ids) await world.start(id);
    const leader = await world.until('a leader', () => world.leader());
    let granted: CommandResult | undefined;
    void leader.leases.grant(60).then((result) => (granted = result));
    await world.until('the lease granted', () => granted);
    assert.ok(granted?.ok && granted.response.type === 'leaseGrant', JSON.stringify(granted));
    const leaseId = granted.response.id;
    await world.settle();
    const follower = [...world.nodes.values()].map((node) => node.replica).find((replica) => replica && replica !== leader) as Replica;

    const { lastIndex } = leader.raftStatus();
    let renewed: CommandResult | undefined;
    void follower.leases.keepAlive(leaseId).then((result) => (renewed = result));
    await world.until('the keep-alive answered', () => renewed);
    assert.deepEqual(renewed, { ok: true, revision: follower.status().revision, response: { type: 'leaseKeepAlive', id: leaseId, ttl: 60 } });
    assert.equal(leader.raftStatus().lastIndex, lastIndex, 'no log entry for the renewal');

    // The leader crashes: a keep-alive sent to it is not answered, and after an election
    // timeout goes through the log, where it meets the crash as any write does (the
    // client retries); once a new leader is elected, keep-alives are renewed again.
    world.crash(leader.raftStatus().id);
    let afterCrash: string | undefined;
    follower.leases.keepAlive(leaseId).then(
      (result) => (afterCrash = result.ok ? 'renewed' : result.error.code),
      (error: KeelError) => (afterCrash = error.code),
    );
    await world.until('the keep-alive answered after the crash', () => afterCrash, 2_000);
    assert.ok(['renewed', 'LEADER_CHANGED', 'NO_LEADER'].includes(afterCrash as string), afterCrash);
    const next = await world.until('a new leader', () => world.leader());
    const other = [...world.nodes.values()].map((node) => node.replica).find((replica) => replica && replica !== next && replica !== leader) as Replica;
    await world.until('the other follows it', () => (other.raftStatus().leader === next.raftStatus().id ? true : undefined));
    let again: CommandResult | undefined;
    void other.leases.keepAlive(leaseId).then((result) => (again = result));
    await world.until('the keep-alive through the new leader answered', () => again);
    assert.ok(again?.ok, JSON.stringify(again));
    assert.deepEqual(world.fatal, []);
    for (const node of world.nodes.values()) await node.replica?.stop();
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

/** A started three-replica world for `body`, every replica stopped and its files removed after. */
async function inWorld(seed: number, body: (world: World) => Promise<void>, tuning: ConstructorParameters<typeof World>[2] = {}): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'keel-replica-sim-'));
  try {
    const world = new World(dir, new Prng(seed), tuning);
    for (const id of ids) await world.start(id);
    await body(world);
    assert.deepEqual(world.fatal, []);
    for (const node of world.nodes.values()) await node.replica?.stop();
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

test("a follower's linearizable reads of one turn share one ReadIndex: one readIndex message to the leader, every read answered with the write before it", () =>
  inWorld(5, async (world) => {
    await world.put('k', 'before');
    const leader = world.leader() as Replica;
    const follower = [...world.nodes.values()].map((node) => node.replica).find((replica) => replica !== undefined && replica !== leader) as Replica;
    const sentBefore = world.deliveries.filter((line) => line.includes(' readIndex ')).length;
    const reads = Array.from({ length: 20 }, () => follower.read({ type: 'range', key: bytes('k') }, 'linearizable'));
    const values: string[] = [];
    for (const read of reads) void read.then((result) => values.push(result.ok ? result.value.kvs.map((kv) => text(kv.value)).join() : 'refused'));
    await world.until('every read answered', () => (values.length === reads.length ? true : undefined));
    assert.deepEqual(values, Array(20).fill('before'));
    assert.equal(world.deliveries.filter((line) => line.includes(' readIndex ')).length - sentBefore, 1, 'one readIndex message for the 20 reads');
  }));

test('a write refused at once (a leadership transfer under way) is a rejected promise, never a throw: the replica writes from inside an apply too', () =>
  inWorld(7, async (world) => {
    await world.put('k', 'v');
    const leader = world.leader() as Replica;
    const other = ids.find((id) => world.nodes.get(id)?.replica !== leader) as NodeId;
    // Cut the transferee off, so that the transfer stays under way.
    world.lose = (message) => message.to === other;
    leader.transferLeadership(other);
    let outcome: unknown;
    assert.doesNotThrow(() => {
      leader.write({ type: 'put', key: bytes('k'), value: bytes('w') }).then(
        () => (outcome = 'applied'),
        (error: KeelError) => (outcome = error.code),
      );
    });
    await world.until('refused', () => outcome);
    assert.equal(outcome, 'TRANSFERRING');
    world.lose = () => false;
  }));

test('a keep-alive on the leader is renewed on its leader lease, with no round of its own, while a majority answered a round sent within half an election timeout; past that it waits for a round', () =>
  inWorld(5, async (world) => {
    await world.put('k', 'v');
    const leader = world.leader() as Replica;
    let granted: CommandResult | undefined;
    void leader.leases.grant(60).then((result) => (granted = result));
    await world.until('the lease granted', () => granted);
    assert.ok(granted?.ok && granted.response.type === 'leaseGrant', JSON.stringify(granted));
    const leaseId = granted.response.id;
    for (let i = 0; i < 3; i++) await world.step();
    const usesBefore = leader.counters.leaderLeaseUses;
    let renewed: CommandResult | undefined;
    void leader.leases.keepAlive(leaseId).then((result) => (renewed = result));
    await world.settle();
    assert.deepEqual(
      renewed,
      { ok: true, revision: leader.status().revision, response: { type: 'leaseKeepAlive', id: leaseId, ttl: 60 } },
      'answered with no message delivered',
    );
    assert.equal(leader.counters.leaderLeaseUses, usesBefore + 1);

    // No answers to heartbeats for 600 ms: the newest round a majority answered is older than the lease (500 ms).
    world.lose = (message) => message.type === 'heartbeatResponse';
    for (let i = 0; i < 6; i++) await world.step();
    const late: { result?: CommandResult } = {};
    void leader.leases.keepAlive(leaseId).then((result) => (late.result = result));
    await world.settle();
    assert.equal(late.result, undefined, 'not renewed before a majority answers a round');
    world.lose = () => false;
    const answered = await world.until('the keep-alive answered after a round', () => late.result);
    assert.ok(answered.ok, JSON.stringify(answered));
    assert.equal(leader.counters.leaderLeaseUses, usesBefore + 1, 'the second keep-alive waited for a round');
  }));

test('a renewal a deposed leader answers on its leader lease runs out no sooner than the new leader lets the lease expire (the extension a new leader gives every lease)', () =>
  inWorld(
    5,
    async (world) => {
      await world.put('k', 'v');
      const old = world.leader() as Replica;
      const oldId = old.raftStatus().id;
      let granted: CommandResult | undefined;
      void old.leases.grant(1).then((result) => (granted = result));
      await world.until('the lease granted', () => granted);
      assert.ok(granted?.ok && granted.response.type === 'leaseGrant', JSON.stringify(granted));
      const leaseId = granted.response.id;
      const ttlMs = granted.response.ttl * 1000;
      let attached: CommandResult | undefined;
      void old.write({ type: 'put', key: bytes('held'), value: bytes('v'), lease: leaseId }).then((result) => (attached = result));
      await world.until('a key attached to the lease', () => attached);

      // The old leader hands leadership over and hears nothing from the new leader;
      // once that one leads, nothing from anyone: it never learns of the new term.
      const nextId = ids.find((id) => id !== oldId) as NodeId;
      world.lose = (message) => message.to === oldId && message.from === nextId;
      old.transferLeadership(nextId);
      const next = await world.until('the new leader', () => {
        const replica = world.nodes.get(nextId)?.replica;
        return replica?.raftStatus().role === 'leader' ? replica : undefined;
      });
      world.lose = (message) => message.to === oldId;
      for (let i = 0; i < 5; i++) await world.step();
      assert.equal(old.raftStatus().role, 'leader', 'the old leader does not know yet');
      // 500 ms after the new leader took over: renewed on the old leader's lease (1 s here).
      const usesBefore = old.counters.leaderLeaseUses;
      let renewed: CommandResult | undefined;
      const renewedAtMs = world.nowMs;
      void old.leases.keepAlive(leaseId).then((result) => (renewed = result));
      await world.settle();
      assert.ok(renewed?.ok, JSON.stringify(renewed));
      assert.equal(old.counters.leaderLeaseUses, usesBefore + 1);

      const gone = await world.until('the new leader lets the lease expire', () => (next.leaseKeys(leaseId).length === 0 ? world.nowMs : undefined), 100);
      assert.ok(gone >= renewedAtMs + ttlMs, `expired at ${gone} ms, though a renewal answered at ${renewedAtMs} ms promised ${ttlMs} ms`);
    },
    // A longer election timeout than the default's 10 ticks: the old leader's lease outlives the new leader's start by more than a step.
    { electionTicks: 20 },
  ));
