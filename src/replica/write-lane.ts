/**
 * The Ready loop's write lane: makes Readys durable in the order the core handed them
 * out, one write (one fsync) in flight at a time, while the loop goes on sending,
 * applying and answering (the pipeline of thesis §10.2.1; see Ready in raft/types.ts).
 *
 * Readys that queue while a write is in flight are merged into the next write, so
 * every request that arrived during one fsync shares the next (group commit). A Ready
 * that installs a snapshot starts a write of its own: the snapshot goes first in a
 * write, before the entries that follow it.
 */
import type { Entry, Ready } from '../raft/index.js';

/** What one write makes durable (RaftStorage.saveReady's argument). */
export type Write = Pick<Ready, 'snapshot' | 'snapshotChunks' | 'entries' | 'hardState'>;

export interface WriteLaneOptions {
  /** Writes and fsyncs; resolves once durable. */
  readonly save: (write: Write) => Promise<void>;
  /** These Readys, in the order they were pushed, are durable now. */
  readonly durable: (readys: readonly Ready[]) => void;
  /** A write failed: the lane takes no more (a failed fsync is never retried). */
  readonly failed: (error: unknown) => void;
}

export class WriteLane {
  private readonly queued: Ready[] = [];
  private inFlight: Promise<void> | undefined;
  private broken = false;

  constructor(private readonly options: WriteLaneOptions) {}

  /** Queues `ready` to be made durable after every Ready pushed before it. */
  push(ready: Ready): void {
    this.queued.push(ready);
    this.next();
  }

  /** No write queued or in flight. */
  get idle(): boolean {
    return this.inFlight === undefined && this.queued.length === 0;
  }

  /** Resolves once every Ready pushed so far is durable, or the lane broke. */
  async drained(): Promise<void> {
    while (this.inFlight) await this.inFlight;
  }

  private next(): void {
    if (this.inFlight || this.broken || this.queued.length === 0) return;
    const batch = takeBatch(this.queued);
    this.inFlight = this.write(batch).then(
      () => {
        this.inFlight = undefined;
        this.options.durable(batch);
        this.next();
      },
      (error: unknown) => {
        this.inFlight = undefined;
        this.broken = true;
        this.options.failed(error);
      },
    );
  }

  private async write(batch: readonly Ready[]): Promise<void> {
    const write = mergeWrites(batch);
    // A batch of messages only (acknowledgements of entries an earlier write held) waits its turn but writes nothing.
    if (write.snapshot === undefined && write.hardState === undefined && write.entries.length === 0 && write.snapshotChunks.length === 0) return;
    await this.options.save(write);
  }
}

/** The queue's head, and every Ready after it up to the next one that installs a snapshot. */
function takeBatch(queued: Ready[]): Ready[] {
  let end = 1;
  while (end < queued.length && (queued[end] as Ready).snapshot === undefined) end++;
  return queued.splice(0, end);
}

/**
 * One write for Readys in handed-out order: the first one's snapshot, their snapshot
 * chunks in order, their entries (a later Ready's entries overwrite the earlier ones'
 * from their first index on, as the WAL would), and the newest hard state.
 */
export function mergeWrites(batch: readonly Ready[]): Write {
  if (batch.length === 1) return batch[0] as Ready;
  const entries: Entry[] = [];
  const snapshotChunks = batch.flatMap((ready) => ready.snapshotChunks);
  let hardState: Ready['hardState'];
  for (const ready of batch) {
    const first = ready.entries[0];
    if (first !== undefined && entries.length > 0) entries.length = Math.max(0, first.index - (entries[0] as Entry).index);
    for (const entry of ready.entries) entries.push(entry);
    hardState = ready.hardState ?? hardState;
  }
  return { snapshot: batch[0]?.snapshot, snapshotChunks, entries, hardState };
}
