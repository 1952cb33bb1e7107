/**
 * Checks the watch hub's promise (kv/watch/watch-hub.ts) on every simulated node:
 * a watcher's events are exactly its node's applied log, in revision order, none lost
 * and none repeated, across leader changes and snapshot installs. Every incarnation of
 * every node watches every key from revision 1 and reports here what it delivers;
 * for each revision, all watchers must deliver the same events, and a watcher must
 * deliver every revision that any watcher delivered within the span it covered.
 *
 * The same stream checks leases (lease-clients.ts): the delete of a lease's key, with
 * no client ever deleting it, is the lease's expiry, which must come no sooner than
 * its TTL after the last renewal a client had acknowledged was sent.
 */
import type { NodeId } from '../raft/index.js';
import type { KvEvent } from '../kv/index.js';
import type { StreamMessage, StreamOutput, WatchCreateRequest } from '../replica/index.js';
import type { ViolationKind } from './safety.js';

/** Every key, from revision 1 (etcd's "\0" to "\0"). */
export const watchEverything: WatchCreateRequest = {
  watchId: 0,
  key: new Uint8Array([0]),
  rangeEnd: new Uint8Array([0]),
  startRevision: 1,
  prevKv: false,
  noPut: false,
  noDelete: false,
  progressNotify: false,
};

/** What a watcher delivered: its revisions in order, and the span they cover. */
interface WatcherRecord {
  readonly node: NodeId;
  readonly incarnation: number;
  /** Every revision from here on is covered... */
  readonly from: number;
  /** ...through this one (the `revision` of its last message). */
  through: number;
  /** Events of revisions not yet sealed by a message's `revision`. */
  readonly open: Map<number, string[]>;
  readonly delivered: number[];
}

export interface WatchMonitorOptions {
  readonly report: (kind: ViolationKind, message: string) => void;
  readonly now: () => number;
  /** A lease key was deleted (the lease expired) at this step, as far as watchers have seen. */
  readonly leaseKeyDeleted: (key: string, step: number) => void;
}

const decoder = new TextDecoder();

export class WatchMonitor {
  /** Each revision's events, as the first watcher to seal it delivered them. */
  private readonly events = new Map<number, string>();
  private readonly watchers: WatcherRecord[] = [];

  constructor(private readonly options: WatchMonitorOptions) {}

  /** Revisions delivered so far (and agreed on). */
  get revisionsCount(): number {
    return this.events.size;
  }

  /** The output of one watch stream, for an incarnation of a node. */
  output(node: NodeId, incarnation: number): StreamOutput {
    let record: WatcherRecord | undefined;
    return {
      writable: () => true,
      send: (message: StreamMessage) => {
        if (message.type === 'created') {
          record = { node, incarnation, from: 1, through: 0, open: new Map(), delivered: [] };
          this.watchers.push(record);
        } else if (message.type === 'events' && record !== undefined) {
          this.take(record, message.events, message.revision);
        } else if (message.type === 'canceled' && message.code !== 'STOPPING') {
          this.options.report('watch', `node ${node}'s watcher was canceled (${message.code}: ${message.reason}) though nothing was compacted`);
        } else if (message.type === 'createFailed') {
          this.options.report('watch', `node ${node} refused a watcher of every key (${message.code}: ${message.reason})`);
        }
      },
    };
  }

  /** At the end of a run: every watcher delivered every revision any watcher did within its span. */
  checkComplete(): void {
    for (const watcher of this.watchers) {
      const delivered = new Set(watcher.delivered);
      for (const revision of this.events.keys()) {
        if (revision >= watcher.from && revision <= watcher.through && !delivered.has(revision)) {
          this.options.report(
            'watch',
            `node ${watcher.node} (incarnation ${watcher.incarnation}) sent events through revision ${watcher.through} but none of revision ${revision}: ${this.events.get(revision)}`,
          );
          return;
        }
      }
    }
  }

  private take(watcher: WatcherRecord, events: readonly KvEvent[], through: number): void {
    const { report } = this.options;
    for (const event of events) {
      const revision = event.kv.modRevision;
      if (revision <= watcher.through) {
        report('watch', `node ${watcher.node} sent an event of revision ${revision} after its events through ${watcher.through}`);
        return;
      }
      const list = watcher.open.get(revision) ?? [];
      list.push(`${event.type} ${decoder.decode(event.kv.key)}${event.type === 'put' ? `=${decoder.decode(event.kv.value)}` : ''}`);
      watcher.open.set(revision, list);
    }
    if (through < watcher.through) {
      report('watch', `node ${watcher.node}'s watcher went back from revision ${watcher.through} to ${through}`);
      return;
    }
    for (const revision of [...watcher.open.keys()].sort((a, b) => a - b)) {
      if (revision > through) break;
      const seen = (watcher.open.get(revision) as string[]).join(', ');
      watcher.open.delete(revision);
      watcher.delivered.push(revision);
      const expected = this.events.get(revision);
      if (expected === undefined) {
        this.events.set(revision, seen);
        this.noteLeaseExpiries(seen);
      } else if (expected !== seen) {
        report('watch', `node ${watcher.node} sent revision ${revision} as [${seen}], another node as [${expected}]`);
      }
    }
    watcher.through = through;
  }

  private noteLeaseExpiries(events: string): void {
    for (const event of events.split(', ')) {
      if (event.startsWith('delete lease/')) this.options.leaseKeyDeleted(event.slice('delete '.length), this.options.now());
    }
  }
}
