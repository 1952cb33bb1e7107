/**
 * The auth state reaches a member that catches up by snapshot: a follower is down while
 * users, roles and permissions are set up, auth is enabled and the log is compacted; it
 * comes back, installs the leader's snapshot, and then checks logins and permissions
 * on its own (the `etcd3` client talks to it alone).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Etcd3 } from 'etcd3';
import { createRootAndAppUser } from './auth-setup.js';
import { withCluster } from '../harness/cluster-harness.js';
import { waitFor } from '../harness/wait-for.js';

test('a follower restored from a snapshot enforces the users, roles and permissions it carried', { timeout: 120_000 }, async () => {
  await withCluster({ size: 3, snapshotEveryEntries: 20, snapshotCatchUpEntries: 5, snapshotLogPercent: 0 }, async (cluster) => {
    const clients: Etcd3[] = [];
    const connect = (ids: readonly number[], auth?: { username: string; password: string }): Etcd3 => {
      const client = new Etcd3({ hosts: ids.map((id) => `http://${cluster.node(id).grpcEndpoint}`), dialTimeout: 3_000, ...(auth ? { auth } : {}) });
      clients.push(client);
      return client;
    };
    try {
      const leader = await cluster.waitForLeader();
      const down = cluster.runningIds().find((id) => id !== leader.id) as number;
      await cluster.waitForCaughtUp([down]);
      const lastIndexBefore = (await cluster.status(down)).lastIndex;
      await cluster.kill(down);
      const up = cluster.runningIds();

      const admin = connect(up);
      await createRootAndAppUser(admin);
      await admin.auth.authEnable({});
      const root = connect(up, { username: 'root', password: 'root-pw' });
      // One put at a time, each its own append: the leader keeps at most 64 appends in
      // flight to the down member (inflightMessagesMax) and compacts its log past the
      // rest, so the member can only catch up by snapshot. (Concurrent puts share
      // appends, and 300 of them fit in the appends in flight.)
      for (let i = 0; i < 300; i++) await root.put(`fill/${i}`).value('x');
      await waitFor(async () => ((await cluster.status(leader.id)).firstIndex > lastIndexBefore + 1 ? true : undefined), {
        timeoutMs: 10_000,
        what: `the leader to compact its log past index ${lastIndexBefore + 1}`,
        explain: () => cluster.describe(),
      });

      await cluster.startNode(down);
      await cluster.waitForCaughtUp([down]);
      assert.match(cluster.node(down).logSinceStart(), /installed a snapshot from the leader/);

      const alice = connect([down], { username: 'alice', password: 'alice-pw' });
      await alice.put('app/after-snapshot').value('yes');
      assert.equal(await alice.get('app/after-snapshot').string(), 'yes');
      await assert.rejects(alice.get('fill/1').string(), /permission denied/);
      const anonymous = connect([down]);
      await assert.rejects(anonymous.get('app/after-snapshot').string(), /user name is empty/);
      const wrong = connect([down], { username: 'alice', password: 'root-pw' });
      await assert.rejects(wrong.get('app/after-snapshot').string(), /authentication failed/);
    } finally {
      for (const client of clients) client.close();
    }
  });
});
