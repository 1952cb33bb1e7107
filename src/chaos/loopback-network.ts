/**
 * The `loopback` chaos network, for runs without root: every node on 127.0.0.1, and
 * a cut is a pair of fault-hook rules (src/transport/fault-hooks.ts) that make the two
 * nodes drop each other's Raft messages. Weaker than netns: only peer traffic is cut
 * (a client still reaches a cut-off node), and the node itself does the dropping.
 */
import type { FaultRule } from '../transport/index.js';
import type { FaultBoard } from './fault-board.js';
import type { ChaosNetwork } from './network.js';

export class LoopbackNetwork implements ChaosNetwork {
  readonly mode = 'loopback' as const;
  readonly description: string;
  private board: FaultBoard | undefined;
  private readonly ids: number[];

  constructor(ids: readonly number[], why: string) {
    this.ids = [...ids];
    this.description = `loopback (127.0.0.1; ${why}): partitions by the transport's fault hooks, which cut Raft traffic only`;
  }

  /** The board through which cuts reach the nodes (known once they run). */
  attach(board: FaultBoard): void {
    this.board = board;
  }

  host(): string {
    return '127.0.0.1';
  }

  launcher(): readonly string[] {
    return [];
  }

  async addNode(id: number): Promise<void> {
    // Nothing to build on loopback; the node only joins the set that heal() clears.
    this.ids.push(id);
  }

  async cut(pairs: readonly (readonly [number, number])[]): Promise<void> {
    const perNode = new Map<number, FaultRule[]>();
    for (const [a, b] of pairs) {
      for (const [self, other] of [
        [a, b],
        [b, a],
      ] as const) {
        const list = perNode.get(self) ?? [];
        list.push({ peer: other, direction: 'both', dropFraction: 1 });
        perNode.set(self, list);
      }
    }
    await this.requireBoard().set('partition', perNode, this.ids);
  }

  async heal(): Promise<void> {
    await this.requireBoard().set('partition', new Map(), this.ids);
  }

  async remove(): Promise<void> {
    // Nothing outside the node processes, which the cluster removes.
  }

  private requireBoard(): FaultBoard {
    if (!this.board) throw new Error('the loopback network has no fault board attached yet');
    return this.board;
  }
}
