/**
 * Deliberate bugs planted in a simulated machine, to show that the checks catch them
 * (tests only). Each is a wrapped port or a client's choice, never a change to the
 * replica: the disk lies about its syncs, the store corrupts one node's values, the
 * log on disk is tampered with before a restart, reads skip ReadIndex, writes are
 * acknowledged before they apply.
 */
import type { ApplyItem, MvccStore, CommandBody } from '../kv/index.js';
import { type FileHandle, type FileSystem, type OpenMode, ForwardingFileSystem, forwardingHandle, scanRecords, encodeWriteGroup } from '../storage/index.js';
import type { LogIndex, Term } from '../raft/index.js';

export interface Sabotage {
  /** Node 1's store keeps value + 1 for every put it applies. */
  readonly brokenStateMachine?: boolean;
  /** Every disk acknowledges syncs it did not do: a crash loses all that was written. */
  readonly lyingSyncs?: boolean;
  /** Reads are served from the local store at once (serializable), without ReadIndex. */
  readonly staleReads?: boolean;
  /** Writes are acknowledged as soon as the replica accepts the proposal. */
  readonly ackBeforeCommit?: boolean;
  /** A restarting node finds its last committed entry on disk replaced by another. */
  readonly tamperLogOnRestart?: boolean;
}

/** A file system whose syncs return at once and make nothing durable (the fault a disk's write cache hides). */
export class LyingSyncFileSystem extends ForwardingFileSystem {
  override async open(path: string, mode: OpenMode): Promise<FileHandle> {
    const handle = await this.inner.open(path, mode);
    return { ...forwardingHandle(handle), writeDurably: (data, position) => handle.write(data, position), datasync: async () => {}, sync: async () => {} };
  }

  override async syncDir(_dir: string): Promise<void> {}
}

/** The store port of a node whose state machine is wrong: every put it applies stores value + 1. */
export function corruptingStore(store: MvccStore): MvccStore {
  const corrupt = (items: readonly ApplyItem[]): ApplyItem[] =>
    items.map((item) => ({ ...item, command: { ...item.command, body: plusOne(item.command.body) } }));
  return new Proxy(store, {
    get(target, name) {
      if (name === 'applyBatch') return (items: readonly ApplyItem[]) => target.applyBatch(corrupt(items));
      const value: unknown = Reflect.get(target, name, target);
      return typeof value === 'function' ? value.bind(target) : value;
    },
  });
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();

function plusOne(body: CommandBody): CommandBody {
  if (body.type !== 'put') return body;
  const value = Number(decoder.decode(body.value));
  return Number.isFinite(value) ? { ...body, value: encoder.encode(String(value + 1)) } : body;
}

/**
 * Appends to the newest WAL segment under `walDir` a valid record that puts another
 * entry at `index` (of the same term): on replay it replaces the entry there, and the
 * log after it is gone. The restarted node holds a committed entry no other node has.
 */
export async function tamperWithEntry(fs: FileSystem, walDir: string, index: LogIndex, term: Term): Promise<void> {
  const newest = (await fs.list(walDir))
    .filter((name) => name.endsWith('.wal'))
    .sort()
    .at(-1);
  if (newest === undefined) return;
  const path = `${walDir}/${newest}`;
  // Right after the last valid record: the rest of a segment is preallocated zeros.
  const { goodBytes } = scanRecords(await fs.readFile(path));
  const handle = await fs.open(path, 'write');
  const record = encodeWriteGroup([{ type: 'entry', entry: { index, term, kind: 'normal', data: encoder.encode('tampered') } }]);
  await handle.write(record, goodBytes);
  await handle.datasync();
  await handle.close();
}
