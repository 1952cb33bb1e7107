/**
 * Cluster membership: which nodes vote and which only learn, how a single-server
 * change transforms a configuration, and which configuration is in force at each
 * point of the log.
 *
 * Keel uses single-server changes (thesis §4.1), not joint consensus: every change
 * adds or removes at most one voter, so any majority of the old configuration
 * overlaps any majority of the new one and no two leaders can be elected for one
 * term across the change. Two rules make it safe:
 *   - a configuration takes effect on a node as soon as its entry is in the node's
 *     log, committed or not (§4.1), and is undone if that entry is truncated;
 *   - a leader appends a change only when the previous one is committed and it has
 *     committed an entry of its own term (the 2015 fix to the single-server
 *     algorithm, raft-dev "bug in single-server membership changes").
 * It is simpler to reason about than joint consensus, and 3- and 5-node clusters
 * grow and shrink one server at a time anyway.
 */
import type { ClusterConfig, ConfigChange, ConfigChangeType, Entry, LogIndex, NodeId } from './types.js';
import { assert } from '../lib/index.js';

export const emptyConfig: ClusterConfig = { voters: [], learners: [] };

export function isVoter(config: ClusterConfig, id: NodeId): boolean {
  return config.voters.includes(id);
}

export function isMember(config: ClusterConfig, id: NodeId): boolean {
  return config.voters.includes(id) || config.learners.includes(id);
}

export function members(config: ClusterConfig): NodeId[] {
  return [...config.voters, ...config.learners];
}

/** The size of a majority of `voterCount` voters. */
export function quorumSize(voterCount: number): number {
  return Math.floor(voterCount / 2) + 1;
}

/**
 * The largest index that a majority of voters hold: sort the voters' match indexes
 * from high to low and take the one at position quorum-1 (§5.3, Figure 2
 * "If there exists an N such that a majority of matchIndex[i] >= N").
 */
export function quorumMatchIndex(voters: readonly NodeId[], matchOf: (id: NodeId) => LogIndex): LogIndex {
  if (voters.length === 0) return 0;
  const matches = voters.map(matchOf).sort((a, b) => b - a);
  return matches[quorumSize(voters.length) - 1] as LogIndex;
}

export type VoteTally = 'won' | 'lost' | 'pending';

export function tallyVotes(voters: readonly NodeId[], votes: ReadonlyMap<NodeId, boolean>): VoteTally {
  let granted = 0;
  let rejected = 0;
  for (const id of voters) {
    const vote = votes.get(id);
    if (vote === true) granted++;
    else if (vote === false) rejected++;
  }
  const quorum = quorumSize(voters.length);
  if (granted >= quorum) return 'won';
  if (rejected > voters.length - quorum) return 'lost';
  return 'pending';
}

export type ChangeResult = { ok: true; config: ClusterConfig } | { ok: false; message: string };

/** The configuration after `change`, or why the change makes no sense. */
export function applyConfigChange(config: ClusterConfig, change: ConfigChange): ChangeResult {
  const { nodeId } = change;
  if (!Number.isInteger(nodeId) || nodeId <= 0) return { ok: false, message: `node id must be a positive integer, got ${nodeId}` };
  const voters = config.voters.filter((id) => id !== nodeId);
  const learners = config.learners.filter((id) => id !== nodeId);
  switch (change.type) {
    case 'addVoter':
      if (isVoter(config, nodeId)) return { ok: false, message: `node ${nodeId} is already a voter` };
      return { ok: true, config: normalize(voters.concat(nodeId), learners) };
    case 'addLearner':
      if (isMember(config, nodeId)) return { ok: false, message: `node ${nodeId} is already a member` };
      return { ok: true, config: normalize(voters, learners.concat(nodeId)) };
    case 'promoteLearner':
      if (!config.learners.includes(nodeId)) return { ok: false, message: `node ${nodeId} is not a learner` };
      return { ok: true, config: normalize(voters.concat(nodeId), learners) };
    case 'removeNode':
      if (!isMember(config, nodeId)) return { ok: false, message: `node ${nodeId} is not a member` };
      if (voters.length === 0) return { ok: false, message: `removing node ${nodeId} would leave no voters` };
      return { ok: true, config: normalize(voters, learners) };
  }
}

function normalize(voters: NodeId[], learners: NodeId[]): ClusterConfig {
  return { voters: [...voters].sort((a, b) => a - b), learners: [...learners].sort((a, b) => a - b) };
}

const changeTypes: readonly ConfigChangeType[] = ['addVoter', 'addLearner', 'promoteLearner', 'removeNode'];

/**
 * A config entry carries the change and the whole configuration it results in.
 * Thesis §4.1: the log holds the new configuration itself, not just a difference.
 * A server that joins with no configuration of its own (bootstrap with no voters)
 * receives the log from index 1, where the cluster's first configuration is not
 * written; from a bare change it would derive a configuration from its empty one
 * and could believe, say, that it is the only voter, elect itself and commit alone.
 */
export interface ConfigEntry {
  readonly change: ConfigChange;
  readonly config: ClusterConfig;
}

export function encodeConfigChange(change: ConfigChange, config: ClusterConfig): Uint8Array {
  return new TextEncoder().encode(
    JSON.stringify({
      type: change.type,
      nodeId: change.nodeId,
      voters: config.voters,
      learners: config.learners,
      ...(change.context !== undefined ? { context: change.context } : {}),
    }),
  );
}

export function decodeConfigEntry(data: Uint8Array): ConfigEntry {
  const value: unknown = JSON.parse(new TextDecoder().decode(data));
  assert(typeof value === 'object' && value !== null, 'config entry is not an object');
  const { type, nodeId, voters, learners, context } = value as { type: unknown; nodeId: unknown; voters: unknown; learners: unknown; context: unknown };
  assert(changeTypes.includes(type as ConfigChangeType), () => `config entry has unknown type ${String(type)}`);
  assert(isNodeId(nodeId), 'config entry has a bad node id');
  assert(Array.isArray(voters) && voters.length > 0 && voters.every(isNodeId), 'config entry has bad voters');
  assert(Array.isArray(learners) && learners.every(isNodeId), 'config entry has bad learners');
  assert(context === undefined || typeof context === 'string', 'config entry has a context that is not a string');
  const change: ConfigChange = { type: type as ConfigChangeType, nodeId, ...(context !== undefined ? { context } : {}) };
  return { change, config: normalize(voters, learners) };
}

export function decodeConfigChange(data: Uint8Array): ConfigChange {
  return decodeConfigEntry(data).change;
}

function isNodeId(value: unknown): value is NodeId {
  return typeof value === 'number' && Number.isInteger(value) && value > 0;
}

function sameConfig(a: ClusterConfig, b: ClusterConfig): boolean {
  const same = (x: readonly NodeId[], y: readonly NodeId[]): boolean => x.length === y.length && x.every((id, i) => id === y[i]);
  return same(a.voters, b.voters) && same(a.learners, b.learners);
}

/**
 * Why the config entry `entry` cannot follow a log whose configuration is `current`,
 * or undefined when it can: its change must apply to `current` and give the
 * configuration the entry records.
 */
export function configEntryProblem(current: ClusterConfig, entry: Entry): string | undefined {
  const { change, config } = decodeConfigEntry(entry.data);
  // A node that joined with no voters knows no configuration until its first
  // config entry, and takes that entry's configuration as it is (§4.1).
  if (current.voters.length === 0) return undefined;
  const result = applyConfigChange(current, change);
  if (!result.ok) return `config entry ${entry.index} is invalid here: ${result.message}`;
  if (!sameConfig(result.config, config)) return `config entry ${entry.index} disagrees with the configuration before it`;
  return undefined;
}

interface ConfigAt {
  readonly index: LogIndex;
  readonly config: ClusterConfig;
}

/**
 * The configurations found in the log, newest last, above a base (the snapshot's
 * configuration, or the bootstrap one). The newest is the one in force (§4.1).
 */
export class ConfigHistory {
  private base: ConfigAt;
  private readonly inLog: ConfigAt[] = [];

  constructor(base: ConfigAt) {
    this.base = base;
  }

  current(): ClusterConfig {
    return this.latest().config;
  }

  /** The index of the entry that set the current configuration (the base's index for the base). */
  currentIndex(): LogIndex {
    return this.latest().index;
  }

  /** The configuration in force once the log up to `index` is applied. */
  at(index: LogIndex): ClusterConfig {
    for (let i = this.inLog.length - 1; i >= 0; i--) {
      const item = this.inLog[i] as ConfigAt;
      if (item.index <= index) return item.config;
    }
    return this.base.config;
  }

  /** Takes note of config entries just appended to the log (after any truncation). */
  appended(entries: readonly Entry[]): void {
    for (const entry of entries) {
      if (entry.kind !== 'config') continue;
      // A leader validates a change before appending it, and every node sees the
      // same log prefix, so a mismatch here means the log or this code is broken
      // (entries from peers are checked before they get here: RaftNode.step).
      const problem = configEntryProblem(this.current(), entry);
      assert(problem === undefined, () => problem as string);
      this.inLog.push({ index: entry.index, config: decodeConfigEntry(entry.data).config });
    }
  }

  /** Forgets configurations of entries at or after `index` (they were truncated). */
  truncatedFrom(index: LogIndex): void {
    while (this.inLog.length > 0 && (this.inLog[this.inLog.length - 1] as ConfigAt).index >= index) this.inLog.pop();
  }

  /** The log up to `index` was compacted into a snapshot. */
  compactedTo(index: LogIndex): void {
    while (this.inLog.length > 0 && (this.inLog[0] as ConfigAt).index <= index) {
      this.base = this.inLog.shift() as ConfigAt;
    }
  }

  /** The log was replaced by a snapshot whose configuration is `config`. */
  reset(base: ConfigAt): void {
    this.base = base;
    this.inLog.length = 0;
  }

  private latest(): ConfigAt {
    return this.inLog.length > 0 ? (this.inLog[this.inLog.length - 1] as ConfigAt) : this.base;
  }
}
