/**
 * A full data disk, for real: each node of a 3-node cluster keeps its data on a small
 * tmpfs of its own, partly taken by a ballast file, and a client writes 100 KiB values
 * one after another. The nodes must see the disk running low before it is full: raise
 * NOSPACE, refuse writes with an answer that names the disk, keep serving reads and
 * deletes, and not exit; nothing acknowledged is lost, a member restarted meanwhile
 * included; once the ballast is removed the alarm is lifted and writes are taken again.
 *
 * Mounting a file system needs root (CI runs as root); the test says so and fails
 * when it is not root, rather than passing without having tried.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { runKeel } from '../cli/testing/run-keel.js';
import { withCluster } from '../harness/cluster-harness.js';
import type { Cluster } from '../harness/cluster-harness.js';
import { writeNewSecretFile } from '../server/peer-secret.js';
import { freePorts } from '../harness/free-ports.js';
import { describe, errorCode, http } from '../harness/http.js';
import { waitFor } from '../harness/wait-for.js';

const run = promisify(execFile);
const mebibyte = 1024 * 1024;
const diskBytes = 48 * mebibyte;
const ballastBytes = 20 * mebibyte;
const reserveBytes = 8 * mebibyte;
/** Each node preallocates its segment in use and the next one: 8 MiB of the disk. */
const walSegmentBytes = 4 * mebibyte;
const value = 'd'.repeat(100 * 1024);
/** More than the disks can hold: the refusal must come before this many writes. */
const writesMax = 400;

interface Status {
  readonly alarms: readonly { readonly memberId: number; readonly alarm: string }[];
  readonly disk: { readonly freeBytes: number; readonly reserveBytes: number; readonly low: boolean };
}

async function status(cluster: Cluster, id: number): Promise<Status> {
  const answer = await http(`${cluster.url(id)}/status`);
  assert.equal(answer.status, 200, describe(answer));
  return answer.body as Status;
}

test('a data disk running full: NOSPACE before it is full, reads and deletes served, no node exits, nothing lost, writes back once space is freed', {
  timeout: 180_000,
}, async () => {
  assert.equal(process.getuid?.(), 0, "this test mounts small tmpfs file systems for the nodes' data and must run as root (CI does)");
  const mounts: string[] = [];
  try {
    for (let id = 1; id <= 3; id++) {
      const dir = await mkdtemp(join(tmpdir(), `keel-disk-n${id}-`));
      await run('mount', ['-t', 'tmpfs', '-o', `size=${diskBytes}`, 'tmpfs', dir]);
      mounts.push(dir);
      await writeFile(join(dir, 'ballast'), Buffer.alloc(ballastBytes, 1));
    }
    await withCluster(
      {
        dataParent: (id) => mounts[id - 1] as string,
        env: { KEEL_DISK_RESERVE_BYTES: String(reserveBytes), KEEL_DISK_CHECK_MS: '100', KEEL_WAL_SEGMENT_BYTES: String(walSegmentBytes) },
      },
      async (cluster) => {
        const acknowledged: string[] = [];
        let refusal: { status: number; code: string | undefined; message: string } | undefined;
        for (let i = 0; i < writesMax && !refusal; i++) {
          const key = `fill/${String(i).padStart(4, '0')}`;
          const answer = await http(`${cluster.url(1)}/kv/${key}`, {
            method: 'PUT',
            body: value,
            headers: { 'content-type': 'text/plain' },
            timeoutMs: 30_000,
          });
          if (answer.status === 200) acknowledged.push(key);
          else refusal = { status: answer.status, code: errorCode(answer), message: JSON.stringify(answer.body) };
        }
        assert.ok(refusal, `a refusal came within ${writesMax} writes of 100 KiB on ${diskBytes / mebibyte} MiB disks`);
        assert.equal(refusal.status, 507, refusal.message);
        assert.equal(refusal.code, 'NO_SPACE', refusal.message);
        // Node 1 refuses itself when its own disk is low (naming it), or because another
        // member's low disk raised the alarm first (etcd's words alone; that member's
        // status and its own refusals name the disk, checked below).
        assert.match(refusal.message, /etcdserver: mvcc: database space exceeded/);
        assert.ok(acknowledged.length > 20, `writes were taken until the disk ran low (${acknowledged.length})`);

        // The alarm reached every member through the log, and each still runs.
        await waitFor(async () => (await Promise.all([1, 2, 3].map((id) => status(cluster, id)))).every((s) => s.alarms.some((a) => a.alarm === 'NOSPACE')), {
          what: 'every member to hold the NOSPACE alarm',
          timeoutMs: 10_000,
        });
        assert.deepEqual(cluster.runningIds(), [1, 2, 3]);
        assert.deepEqual(cluster.crashes, []);
        // Each alarm was raised by a member whose disk is below its reserve, and that member names it.
        const statuses = await Promise.all([1, 2, 3].map((id) => status(cluster, id)));
        const raisedBy = (statuses[0] as Status).alarms.filter((a) => a.alarm === 'NOSPACE').map((a) => a.memberId);
        assert.ok(raisedBy.length > 0);
        for (const id of raisedBy) {
          assert.equal(statuses[id - 1]?.disk.low, true, `member ${id} raised NOSPACE for its disk: ${JSON.stringify(statuses[id - 1]?.disk)}`);
          const named = await http(`${cluster.url(id)}/kv/more`, { method: 'PUT', body: 'x', headers: { 'content-type': 'text/plain' } });
          assert.match(describe(named), new RegExp(`data disk of member ${id} has \\d+ bytes free, below its reserve of ${reserveBytes}`));
        }
        for (let id = 1; id <= 3; id++) {
          const refused = await http(`${cluster.url(id)}/kv/more`, { method: 'PUT', body: 'x', headers: { 'content-type': 'text/plain' } });
          assert.equal(refused.status, 507, describe(refused));
        }

        // Reads from every member: every acknowledged write is there, whole.
        await cluster.waitForConverged();
        for (let id = 1; id <= 3; id++) {
          for (const key of acknowledged) {
            const answer = await http(`${cluster.url(id)}/kv/${key}?consistency=serializable`);
            assert.equal(answer.status, 200, `${key} on node ${id}: ${describe(answer)}`);
            assert.equal((answer.body as { value: string }).value, value, `${key} on node ${id}`);
          }
        }
        // Deletes are taken: they free space rather than use it.
        const deleted = await http(`${cluster.url(2)}/kv/${acknowledged[0] as string}`, { method: 'DELETE' });
        assert.equal(deleted.status, 200, describe(deleted));

        // A member restarted after a kill while its disk is low replays its log into its
        // store, says at start what a bus error would mean, and serves every write again.
        const lowMember = raisedBy[0] as number;
        await cluster.restart(lowMember, 'kill');
        assert.match(cluster.node(lowMember).logSinceStart(), /bytes free, below the reserve .*bus error \(SIGBUS\)/);
        await cluster.waitForConverged();
        for (const key of acknowledged.slice(1)) {
          const answer = await http(`${cluster.url(lowMember)}/kv/${key}?consistency=serializable`);
          assert.equal(answer.status, 200, `${key} on node ${lowMember} after its restart: ${describe(answer)}`);
        }

        // The operator frees space: the alarm is lifted by the nodes themselves, and writes resume.
        for (const dir of mounts) await rm(join(dir, 'ballast'));
        await waitFor(async () => (await status(cluster, 1)).alarms.length === 0, {
          what: 'the NOSPACE alarms to be lifted once space is back',
          timeoutMs: 20_000,
        });
        const after = await http(`${cluster.url(3)}/kv/after-space-freed`, { method: 'PUT', body: 'back', headers: { 'content-type': 'text/plain' } });
        assert.equal(after.status, 200, describe(after));
        assert.deepEqual(cluster.crashes, []);
      },
    );
  } finally {
    for (const dir of mounts) {
      await run('umount', ['--lazy', dir]).catch(() => undefined);
      await rm(dir, { recursive: true, force: true });
    }
  }
});

test('a node started on a full disk says what is wrong and what to do, and exits', { timeout: 60_000 }, async () => {
  assert.equal(process.getuid?.(), 0, 'this test mounts a small tmpfs file system and must run as root (CI does)');
  const dir = await mkdtemp(join(tmpdir(), 'keel-disk-full-'));
  const secretDir = await mkdtemp(join(tmpdir(), 'keel-disk-full-secret-'));
  try {
    await run('mount', ['-t', 'tmpfs', '-o', `size=${4 * mebibyte}`, 'tmpfs', dir]);
    // Fill it to the last byte: the write of a bigger file fails once the disk is full.
    await writeFile(join(dir, 'ballast'), Buffer.alloc(8 * mebibyte, 1)).catch((error: NodeJS.ErrnoException) => assert.equal(error.code, 'ENOSPC'));
    const [peer, client] = (await freePorts(2)) as [number, number];
    // The cluster secret lives elsewhere, as an operator's would; the node copies it into its data directory.
    const secretFile = join(secretDir, 'peer-secret');
    await writeNewSecretFile(secretFile);
    const started = await runKeel(
      ['start', '--id', '1', '--members', `1=127.0.0.1:${peer}:${client}`, '--data-dir', join(dir, 'node-1'), '--peer-secret-file', secretFile],
      { timeoutMs: 30_000 },
    );
    assert.equal(started.code, 1, `exit code 1; stderr: ${started.stderr}`);
    assert.match(started.stderr, /Cannot start node 1: the disk holding .*node-1 is full \(\d+ bytes free\)/);
    assert.match(started.stderr, /Free space on that file system or move the data directory to a larger one, then start the node again/);
  } finally {
    await run('umount', ['--lazy', dir]).catch(() => undefined);
    await rm(dir, { recursive: true, force: true });
    await rm(secretDir, { recursive: true, force: true });
  }
});
