/**
 * The netns chaos network on this machine (root, as CI): nodes' addresses reach each
 * other and the harness; a cut drops traffic both ways; healing restores it; leftovers
 * of a crashed run (a dead pid in the name) are removed; a node added later is on the
 * bridge like the others; remove() leaves nothing.
 * Without root this checks that the reason is said instead; as root (CI) a missing
 * tool fails the test, naming scripts/setup-ci.sh.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { NetnsNetwork, netnsAvailable, removeStaleNetworks } from './netns-network.js';
import { runCommand } from './run-command.js';
import { missingToolMessage } from '../harness/required-tool.js';
import { waitFor } from '../harness/wait-for.js';

const port = 7300;

/** A TCP connection from node `from`'s namespace to node `to`'s listener, within a second. */
async function reaches(network: NetnsNetwork, from: number, to: number): Promise<boolean> {
  const probe = `const s = require('net').connect(${port}, '${network.host(to)}'); s.setTimeout(1000, () => process.exit(1)); s.on('connect', () => process.exit(0)); s.on('error', () => process.exit(1));`;
  try {
    const [command, ...args] = [...network.launcher(from), process.execPath, '-e', probe];
    await runCommand(command as string, args);
    return true;
  } catch {
    return false;
  }
}

/** A TCP listener inside node `id`'s namespace, on its address. */
function listen(network: NetnsNetwork, id: number): ChildProcess {
  const argv = [...network.launcher(id), process.execPath, '-e', `require('net').createServer((s) => s.end()).listen(${port}, '${network.host(id)}')`];
  return spawn(argv[0] as string, argv.slice(1), { stdio: 'ignore' });
}

test('netns network: namespaces connected through the bridge, cut and healed by iptables, one added later, removed without a trace', {
  timeout: 60_000,
}, async () => {
  const missing = await netnsAvailable();
  if (missing !== undefined) {
    assert.notEqual(process.getuid?.(), 0, missingToolMessage(`as root, network namespaces (${missing})`, 'iptables iproute2'));
    assert.match(missing, /root/);
    return;
  }
  const network = await NetnsNetwork.create([1, 2, 3]);
  const listeners = [1, 2, 3].map((id) => listen(network, id));
  try {
    await waitFor(() => reaches(network, 1, 2), { timeoutMs: 10_000, what: 'node 1 to reach node 2' });
    await waitFor(() => reaches(network, 2, 3), { timeoutMs: 10_000, what: 'node 2 to reach node 3' });
    await network.cut([[1, 2]]);
    assert.equal(await reaches(network, 1, 2), false, 'the cut drops 1 → 2');
    assert.equal(await reaches(network, 2, 1), false, 'the cut drops 2 → 1');
    assert.ok(await reaches(network, 1, 3), 'node 1 still reaches node 3');
    await network.heal();
    assert.ok(await reaches(network, 1, 2), 'healed: node 1 reaches node 2 again');
    // A node that joins later (a new member) gets its own namespace on the same bridge.
    await network.addNode(4);
    listeners.push(listen(network, 4));
    await waitFor(() => reaches(network, 1, 4), { timeoutMs: 10_000, what: 'node 1 to reach the added node 4' });
    assert.ok(await reaches(network, 4, 2), 'the added node 4 reaches node 2');
    await network.cut([[4, 1]]);
    assert.equal(await reaches(network, 4, 1), false, 'a cut reaches the added node too');
    await network.heal();
    assert.ok(await reaches(network, 4, 1), 'healed: node 4 reaches node 1 again');
  } finally {
    for (const listener of listeners) listener.kill('SIGKILL');
    await network.remove();
  }
  assert.equal((await runCommand('ip', ['netns', 'list'])).includes(`keelchaos-${process.pid}-`), false, 'no namespace of this run is left');
  assert.equal((await runCommand('ip', ['link', 'show'])).includes(`kcb${process.pid}`), false, 'no bridge of this run is left');
});

test("netns network: the namespaces of a crashed earlier run are removed, a live run's are not", { timeout: 30_000 }, async () => {
  if ((await netnsAvailable()) !== undefined) return;
  // 4194305 is above Linux's pid_max limit: no live process can have it.
  const stale = 'keelchaos-4194305-1';
  const live = `keelchaos-${process.pid}-9`;
  await runCommand('ip', ['netns', 'add', stale]);
  await runCommand('ip', ['netns', 'add', live]);
  try {
    const removed = await removeStaleNetworks();
    assert.ok(removed.includes(stale), `removed ${removed.join(', ')}`);
    const left = await runCommand('ip', ['netns', 'list']);
    assert.equal(left.includes(stale), false);
    assert.ok(left.includes(live), 'a live run keeps its namespaces');
  } finally {
    await runCommand('ip', ['netns', 'del', live]);
  }
});
