/**
 * Ports for a replica in a unit test on the real machine: the wall clock, a real disk
 * (or one forwarding to it), LMDB in `dataDir/kv`, immediate deferral, plenty of disk
 * space. Peers are the test's `network`; a fatal error or a removal fails the test.
 */
import assert from 'node:assert/strict';
import { randomInt } from 'node:crypto';
import { join } from 'node:path';
import { MvccStore } from '../../kv/mvcc/mvcc-store.js';
import { NodeFileSystem, type FileSystem } from '../../storage/file-system.js';
import { silentLogger } from '../../replica/logger.js';
import type { PeerNetwork, ReplicaPorts } from '../../replica/ports.js';

export function realPorts(dataDir: string, network: PeerNetwork, fs: FileSystem = new NodeFileSystem()): ReplicaPorts {
  return {
    clock: { nowMs: () => Date.now(), monotonicMs: () => performance.now() },
    fs,
    network,
    openStore: () => MvccStore.open({ path: join(dataDir, 'kv'), sync: 'deferred' }),
    random: { int: (bound) => randomInt(bound) },
    log: silentLogger,
    defer: (task) => setImmediate(task),
    diskSpace: { freeBytes: 1 << 30, reserveBytes: 0, low: false, recovered: true },
    onFatal: (error) => assert.fail(`fatal: ${String(error)}`),
    onRemoved: () => assert.fail('removed'),
  };
}
