/**
 * Picks the chaos network: netns when asked or possible (root, ip, iptables), else
 * loopback with the reason said. Removes namespaces left by a crashed earlier run
 * first, and removes this run's on exit or on SIGINT/SIGTERM, whatever happens.
 */
import { execFileSync } from 'node:child_process';
import { LoopbackNetwork } from './loopback-network.js';
import { NetnsNetwork, netnsAvailable, namespacePrefix } from './netns-network.js';
import type { ChaosNetwork } from './network.js';

export type NetworkChoice = 'auto' | 'netns' | 'loopback';

export async function createNetwork(choice: NetworkChoice, ids: readonly number[]): Promise<ChaosNetwork> {
  if (choice === 'loopback') return new LoopbackNetwork(ids, 'asked for');
  const missing = await netnsAvailable();
  if (missing !== undefined) {
    if (choice === 'netns') throw new Error(`cannot use network namespaces: ${missing}`);
    return new LoopbackNetwork(ids, missing);
  }
  const network = await NetnsNetwork.create(ids);
  removeOnExit();
  return network;
}

let exitHookInstalled = false;

/**
 * Synchronous removal on the way out: an 'exit' listener cannot wait for a promise,
 * and a signal listener must be done before the signal's default action ends us.
 */
function removeOnExit(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  // Every namespace named for this process, whichever run made it and however many
  // nodes joined later: the names say whose they are.
  const removeNow = (): void => {
    const own = `${namespacePrefix}${process.pid}-`;
    for (const ns of namespaceNames()) if (ns.startsWith(own)) quiet(['netns', 'del', ns]);
    quiet(['link', 'del', `kcb${process.pid}`]);
  };
  process.once('exit', removeNow);
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.once(signal, () => {
      removeNow();
      // If nothing else listens, end the way the signal would have.
      if (process.listenerCount(signal) === 0) process.kill(process.pid, signal);
    });
  }
}

function namespaceNames(): string[] {
  try {
    return execFileSync('ip', ['netns', 'list'], { encoding: 'utf8', timeout: 5_000 })
      .split('\n')
      .map((line) => line.split(' ')[0] ?? '');
  } catch {
    return [];
  }
}

function quiet(args: readonly string[]): void {
  try {
    execFileSync('ip', args, { stdio: 'ignore', timeout: 5_000 });
  } catch {
    // Already gone.
  }
}
