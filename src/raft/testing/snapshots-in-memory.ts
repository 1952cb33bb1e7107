import type { ReceivedSnapshotChunk, Snapshot, SnapshotMeta } from '../types.js';

/**
 * The receiving side of InstallSnapshot for the core's tests, whose runtimes keep
 * snapshots in memory: gathers the chunks Readys hand out, as
 * the node runtime writes them to a file, and gives back each snapshot they complete,
 * to pass to RaftNode.snapshotReceived once the Ready that carried its last chunk is
 * persisted.
 */
export class SnapshotsInMemory {
  private receiving: { readonly meta: SnapshotMeta; readonly chunks: Uint8Array[]; size: number } | undefined;

  /** The snapshot being received and the bytes of it held, for a restarted node to go on with. */
  inProgress(): { readonly meta: SnapshotMeta; readonly size: number } | undefined {
    return this.receiving && { meta: this.receiving.meta, size: this.receiving.size };
  }

  /** Stores a Ready's chunks, in order; answers the snapshots they complete. */
  store(chunks: readonly ReceivedSnapshotChunk[]): Snapshot[] {
    const completed: Snapshot[] = [];
    for (const chunk of chunks) {
      if (chunk.offset === 0) this.receiving = { meta: chunk.meta, chunks: [], size: 0 };
      const receiving = this.receiving;
      if (receiving?.meta.index !== chunk.meta.index || receiving.meta.term !== chunk.meta.term || receiving.size !== chunk.offset) {
        throw new Error(`a chunk of snapshot ${chunk.meta.index} at offset ${chunk.offset} does not continue the one being received`);
      }
      receiving.chunks.push(chunk.data);
      receiving.size += chunk.data.length;
      if (!chunk.done) continue;
      const data = new Uint8Array(receiving.size);
      let at = 0;
      for (const piece of receiving.chunks) {
        data.set(piece, at);
        at += piece.length;
      }
      completed.push({ meta: receiving.meta, data });
      this.receiving = undefined;
    }
    return completed;
  }
}
