import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { nodeConfigDefaults, type NodeConfig } from './config.js';
import { Replica } from './replica.js';
import { realPorts } from '../server/testing/replica-ports.js';
import type { RaftConfig } from '../raft/index.js';

/** A one-member replica over LMDB in a temp dir, ticked by hand until it leads. */
async function withReplica(run: (replica: Replica) => Promise<void>, raft: Partial<RaftConfig> = {}): Promise<void> {
  const dataDir = await mkdtemp(join(tmpdir(), 'keel-replica-'));
  const config: NodeConfig = { ...nodeConfigDefaults, id: 1, members: [{ id: 1, host: '127.0.0.1', peerPort: 1, clientPort: 2 }], dataDir, logLevel: 'silent' };
  const replica = await Replica.open({
    config,
    raftDir: join(dataDir, 'raft'),
    raft,
    ports: realPorts(dataDir, { send: () => assert.fail('a one-member cluster sends nothing'), updatePeers: () => {}, connectedPeers: () => new Set() }),
  });
  try {
    replica.start();
    for (let tick = 0; tick < 3 * config.electionTicks && replica.raftStatus().role !== 'leader'; tick++) replica.tick();
    assert.equal(replica.raftStatus().role, 'leader');
    await run(replica);
  } finally {
    await replica.stop();
    await rm(dataDir, { recursive: true, force: true });
  }
}

const bytes = (text: string): Uint8Array => new TextEncoder().encode(text);

test('every read of the store waits for a defragmentation: range, history, hashKv and snapshot called while it runs all answer', async () => {
  await withReplica(async (replica) => {
    const key = bytes('k');
    for (let i = 0; i < 200; i++) {
      const put = await replica.write({ type: 'put', key, value: bytes(`value ${i} `.repeat(50)) });
      assert.ok(put.ok);
    }
    // Reads issued in every turn while the defragmentation closes and reopens the
    // store: each must wait for it rather than touch the closed environment.
    let defragmenting = true;
    const defragmented = replica.defragment().finally(() => {
      defragmenting = false;
    });
    const reads: Promise<string | undefined>[] = [];
    const failure = (what: string, call: () => Promise<unknown>): Promise<string | undefined> => {
      try {
        return call().then(
          () => undefined,
          (error: unknown) => `${what}: ${String(error)}`,
        );
      } catch (error) {
        return Promise.resolve(`${what}: ${String(error)}`);
      }
    };
    while (defragmenting) {
      reads.push(failure('history', () => replica.history({ type: 'history', key }, 'serializable')));
      reads.push(failure('range', () => replica.read({ type: 'range', key }, 'serializable')));
      reads.push(failure('hashKv', () => replica.hashKv(0)));
      reads.push(failure('snapshot', () => replica.snapshot()));
      await new Promise((resolve) => setImmediate(resolve));
    }
    await defragmented;
    assert.ok(reads.length >= 8, `only ${reads.length} reads overlapped the defragmentation`);
    const failures = (await Promise.all(reads)).filter((text) => text !== undefined);
    assert.deepEqual(failures, [], `${failures.length} of ${reads.length} reads failed during the defragmentation`);
    const history = await replica.history({ type: 'history', key }, 'linearizable');
    assert.ok(history.ok);
    assert.equal(history.value.versions.length, 200);
  });
});

test('writes applied while a defragmentation copies the store are in it after the swap: applied again from the log, read back from the WAL', async () => {
  await withReplica(
    async (replica) => {
      for (let i = 0; i < 100; i++) assert.ok((await replica.write({ type: 'put', key: bytes(`before/${i}`), value: bytes(`v${i} `.repeat(100)) })).ok);
      let defragmenting = true;
      const defragmented = replica.defragment().finally(() => {
        defragmenting = false;
      });
      let written = 0;
      while (defragmenting) {
        const put = await replica.write({ type: 'put', key: bytes(`during/${written}`), value: bytes(`w${written} `.repeat(100)) });
        assert.ok(put.ok);
        written++;
      }
      await defragmented;
      assert.ok(written >= 2, `only ${written} writes overlapped the defragmentation`);
      for (let i = 0; i < written; i++) {
        const read = await replica.read({ type: 'range', key: bytes(`during/${i}`) }, 'linearizable');
        assert.ok(read.ok);
        assert.equal(new TextDecoder().decode(read.value.kvs[0]?.value), `w${i} `.repeat(100), `during/${i}`);
      }
      const count = await replica.read({ type: 'range', key: bytes('before/'), rangeEnd: bytes('before0'), countOnly: true }, 'linearizable');
      assert.ok(count.ok);
      assert.equal(count.value.count, 100);
    },
    // Every applied entry is released from memory: the swap reads them all back from the WAL.
    { logMemoryBytesMax: 0 },
  );
});
