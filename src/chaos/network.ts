/**
 * Where the nodes of a chaos run live and how their links are cut.
 *
 * Two kinds: `netns` (root only) gives every node its own network namespace and IP
 * address, joined by a bridge, and cuts links with iptables inside the namespaces —
 * the kernel drops the packets, the node is none the wiser. `loopback` (anyone) puts
 * every node on 127.0.0.1 and cuts links with the transport's fault hooks, which drop
 * Raft messages inside the node; client traffic is never cut there.
 */
export interface ChaosNetwork {
  readonly mode: 'netns' | 'loopback';
  /** One line for the report: what the network is and how faults reach it. */
  readonly description: string;
  /** The address node `id` binds to and is reached at. */
  host(id: number): string;
  /** The command prefix that runs a program where node `id` lives ([] for here). */
  launcher(id: number): readonly string[];
  /** Makes a place for node `id`, which joins after the start (a new member). */
  addNode(id: number): Promise<void>;
  /** Replaces every cut: for each pair [a, b], a and b can no longer reach each other. */
  cut(pairs: readonly (readonly [number, number])[]): Promise<void>;
  /** Removes every cut. */
  heal(): Promise<void>;
  /** Removes whatever the network made (namespaces, bridge, rules). Safe to call twice. */
  remove(): Promise<void>;
}
