/**
 * The fault-hook rules of every node, composed from several nemeses at once: each
 * source (a partition, a slow link) owns its own rules per node, and a node gets the
 * union. Rules live in the node's memory, so a restarted node gets them again.
 */
import type { FaultRule } from '../transport/index.js';
import { describe, http } from '../harness/index.js';

export class FaultBoard {
  private readonly rules = new Map<string, Map<number, readonly FaultRule[]>>();

  constructor(
    private readonly urlOf: (id: number) => string,
    private readonly isUp: (id: number) => boolean,
  ) {}

  /** Replaces what `source` asks of each node (an empty map withdraws it). */
  async set(source: string, perNode: ReadonlyMap<number, readonly FaultRule[]>, ids: readonly number[]): Promise<void> {
    this.rules.set(source, new Map(perNode));
    for (const id of ids) await this.push(id);
  }

  /** Sends node `id` the union of every source's rules for it (if it is up). */
  async push(id: number): Promise<void> {
    if (!this.isUp(id)) return;
    const rules = [...this.rules.values()].flatMap((perNode) => perNode.get(id) ?? []);
    const answer = await http(`${this.urlOf(id)}/admin/faults`, { method: 'PUT', body: { rules }, timeoutMs: 5_000 });
    if (answer.status !== 200) throw new Error(`PUT /admin/faults on node ${id}: ${describe(answer)}`);
  }
}
