/**
 * The `netns` chaos network (root only): each node in its own network namespace with
 * its own address in a private /24 (10.77.K.0/24, K picked per run so runs can live
 * side by side), joined by a bridge in the root namespace that holds 10.77.K.254 —
 * the harness's own address, from which the clients reach the nodes. Nothing is
 * routed beyond the bridge: the namespaces have no default route, so a node can reach
 * only its peers and the harness.
 *
 * Names carry this process's pid (`keelchaos-<pid>-<id>`, bridge `kcb<pid>`, host
 * ends of the veth pairs `kcv<pid>n<id>`), so a later run can tell the leftovers of a
 * crashed run (their pid is gone) from those of a live one, and remove only them.
 *
 * A cut is a pair of iptables DROP rules in each of the two namespaces (INPUT from
 * and OUTPUT to the other's address): packets vanish as on a broken link, and TCP
 * connections hang until the transport gives up on them.
 */
import type { ChaosNetwork } from './network.js';
import { runCommand, runQuietly } from './run-command.js';

export const namespacePrefix = 'keelchaos-';
const subnetFirst = 77;

export class NetnsNetwork implements ChaosNetwork {
  readonly mode = 'netns' as const;
  readonly description: string;
  private removed: Promise<void> | undefined;
  private cutsInForce = false;
  /** The nodes that have a namespace: those of the start, then each one added. */
  private readonly ids: number[] = [];

  private constructor(
    private readonly initialIds: readonly number[],
    private readonly subnet: number,
  ) {
    this.description = `network namespaces ${this.namespace(initialIds[0] as number)}..${initialIds.length} on bridge ${this.bridge} (10.77.${subnet}.0/24); partitions by iptables inside the namespaces`;
  }

  /** Builds the namespaces, veth pairs and bridge for nodes `ids`; undoes it all on failure. */
  static async create(ids: readonly number[]): Promise<NetnsNetwork> {
    await removeStaleNetworks();
    const network = new NetnsNetwork(ids, await freeSubnet());
    try {
      await network.build();
    } catch (error) {
      await network.remove();
      throw error;
    }
    return network;
  }

  host(id: number): string {
    return `10.77.${this.subnet}.${id}`;
  }

  launcher(id: number): readonly string[] {
    return ['ip', 'netns', 'exec', this.namespace(id)];
  }

  async cut(pairs: readonly (readonly [number, number])[]): Promise<void> {
    await this.heal();
    this.cutsInForce = pairs.length > 0;
    for (const [a, b] of pairs) {
      for (const [self, other] of [
        [a, b],
        [b, a],
      ] as const) {
        await this.iptables(self, ['-A', 'INPUT', '-s', this.host(other), '-j', 'DROP']);
        await this.iptables(self, ['-A', 'OUTPUT', '-d', this.host(other), '-j', 'DROP']);
      }
    }
  }

  async heal(): Promise<void> {
    if (!this.cutsInForce) return;
    for (const id of this.ids) {
      await this.iptables(id, ['-F', 'INPUT']);
      await this.iptables(id, ['-F', 'OUTPUT']);
    }
    this.cutsInForce = false;
  }

  /** A namespace for a node that joins later, on the same bridge; its address is host(id) as for the others. */
  async addNode(id: number): Promise<void> {
    if (this.removed) throw new Error('the chaos network is removed already');
    if (this.ids.includes(id)) throw new Error(`node ${id} has a namespace already`);
    if (id < 1 || id > 253) throw new Error(`node id ${id} has no address in 10.77.${this.subnet}.0/24 (1-253)`);
    await this.buildNode(id);
  }

  remove(): Promise<void> {
    this.removed ??= removeNetwork(
      process.pid,
      this.ids.map((id) => this.namespace(id)),
    );
    return this.removed;
  }

  private get bridge(): string {
    return `kcb${process.pid}`;
  }

  private namespace(id: number): string {
    return `${namespacePrefix}${process.pid}-${id}`;
  }

  private async build(): Promise<void> {
    await runCommand('ip', ['link', 'add', this.bridge, 'type', 'bridge']);
    await runCommand('ip', ['addr', 'add', `10.77.${this.subnet}.254/24`, 'dev', this.bridge]);
    await runCommand('ip', ['link', 'set', this.bridge, 'up']);
    for (const id of this.initialIds) await this.buildNode(id);
  }

  /** Node `id`'s namespace and its veth pair onto the bridge. Recorded first, so a half-built one is removed too. */
  private async buildNode(id: number): Promise<void> {
    const ns = this.namespace(id);
    const outside = `kcv${process.pid}n${id}`;
    this.ids.push(id);
    await runCommand('ip', ['netns', 'add', ns]);
    await runCommand('ip', ['link', 'add', outside, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', ns]);
    await runCommand('ip', ['link', 'set', outside, 'master', this.bridge]);
    await runCommand('ip', ['link', 'set', outside, 'up']);
    await runCommand('ip', ['-n', ns, 'addr', 'add', `${this.host(id)}/24`, 'dev', 'eth0']);
    await runCommand('ip', ['-n', ns, 'link', 'set', 'eth0', 'up']);
    await runCommand('ip', ['-n', ns, 'link', 'set', 'lo', 'up']);
  }

  private iptables(id: number, args: readonly string[]): Promise<string> {
    return runCommand('ip', ['netns', 'exec', this.namespace(id), 'iptables', '-w', '5', ...args]);
  }
}

/** Whether this process may build namespaces (root), and the tools are there. */
export async function netnsAvailable(): Promise<string | undefined> {
  if (process.getuid?.() !== 0) return 'not running as root';
  try {
    await runCommand('ip', ['netns', 'list']);
  } catch (error) {
    return `ip netns does not work here (${(error as Error).message})`;
  }
  try {
    await runCommand('iptables', ['--version']);
  } catch {
    return 'iptables is not installed (scripts/setup-ci.sh installs it; or apt-get install -y iptables)';
  }
  return undefined;
}

async function removeNetwork(pid: number, namespaces: readonly string[]): Promise<void> {
  for (const ns of namespaces) {
    // Deleting the host end of a veth pair deletes both ends at once. Deleting only the
    // namespace would leave them until the namespace is freed, which its sockets in
    // TIME_WAIT delay for a minute: a network built again by this process would then
    // find its veth names taken.
    await runQuietly('ip', ['link', 'del', `kcv${pid}n${ns.slice(ns.lastIndexOf('-') + 1)}`]);
    await runQuietly('ip', ['netns', 'del', ns]);
  }
  await runQuietly('ip', ['link', 'del', `kcb${pid}`]);
}

/** Removes the namespaces and bridges of earlier runs whose process is gone. */
export async function removeStaleNetworks(): Promise<string[]> {
  const namespaces = (await runCommand('ip', ['netns', 'list'])).split('\n').map((line) => line.split(' ')[0] ?? '');
  const links = (await runCommand('ip', ['-o', 'link', 'show', 'type', 'bridge']))
    .split('\n')
    .map((line) => /^\d+:\s+(kcb\d+)[:@]/.exec(line)?.[1])
    .filter((name): name is string => name !== undefined);
  const stalePids = new Set<number>();
  for (const ns of namespaces) {
    const match = new RegExp(`^${namespacePrefix}(\\d+)-\\d+$`).exec(ns);
    if (match && !alive(Number(match[1]))) stalePids.add(Number(match[1]));
  }
  for (const link of links) if (!alive(Number(link.slice(3)))) stalePids.add(Number(link.slice(3)));
  const removed: string[] = [];
  for (const pid of stalePids) {
    const own = namespaces.filter((ns) => ns.startsWith(`${namespacePrefix}${pid}-`));
    await removeNetwork(pid, own);
    removed.push(...own, `kcb${pid}`);
  }
  return removed;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as { code?: string }).code === 'EPERM';
  }
}

/** A /24 under 10.77.0.0/16 that no interface of this machine uses yet. */
async function freeSubnet(): Promise<number> {
  const used = await runCommand('ip', ['-4', '-o', 'addr', 'show']);
  for (let k = subnetFirst + (process.pid % 100); k < subnetFirst + (process.pid % 100) + 150; k++) {
    const subnet = k % 250;
    if (!used.includes(`10.77.${subnet}.`)) return subnet;
  }
  throw new Error('no free /24 in 10.77.0.0/16 for the chaos network');
}
