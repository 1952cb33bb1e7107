/**
 * The storage layer's typed errors. Each says what is wrong, where, and what the
 * operator can do; none of them is ever handled by guessing.
 */

/**
 * The WAL holds damage that a crash cannot explain (a bad record followed by good
 * ones, a bad record in an older segment, a missing segment, records that
 * contradict each other). Starting anyway would silently lose or invent
 * acknowledged writes, so the node refuses to start.
 */
export class WalCorruptionError extends Error {
  override name = 'WalCorruptionError';
  constructor(
    message: string,
    /** The segment file name, when the damage is inside one. */
    readonly file: string | undefined,
    /** The byte offset in `file` where the damage starts. */
    readonly offset: number | undefined,
  ) {
    super(message);
  }
}

/** The newest snapshot file is damaged and no safe fallback exists. */
export class SnapshotCorruptionError extends Error {
  override name = 'SnapshotCorruptionError';
  constructor(
    message: string,
    readonly file: string,
  ) {
    super(message);
  }
}

/** The WAL and the snapshot store disagree in a way no crash can produce. */
export class StorageMismatchError extends Error {
  override name = 'StorageMismatchError';
}

/**
 * What a node that finds on its own disk that it lost log entries it had acknowledged
 * (a WAL cut by keel repair, say) must say: going on would let it vote and serve
 * without entries a majority counted on (§5.4).
 */
export const lostAcknowledgedEntriesAdvice =
  'this node lost log entries it had acknowledged and cannot take part with this data. ' +
  'Remove this member and add it back as a new member with an empty data directory (keel member remove ID, keel member add --peer-urls URL, then keel start --join).';

/**
 * An earlier write or sync failed (or the storage was closed). The state on disk is
 * unknown from here on, so every later write is refused: stop the process and
 * recover from disk.
 */
export class StorageUnusableError extends Error {
  override name = 'StorageUnusableError';
}

/**
 * The next WAL segment could not be prepared: its device has no room for it. Nothing
 * of the log was written or lost; the node cannot take more writes on this disk.
 */
export class WalSpaceError extends Error {
  override name = 'WalSpaceError';
  readonly code = 'ENOSPC';
  constructor(dir: string, segmentBytes: number, cause: unknown) {
    super(
      `no space on the disk holding ${dir} to prepare the next WAL segment of ${segmentBytes} bytes; ` +
        'nothing written was lost. Free space on that file system or move the data directory to a larger one, then start the node again',
      { cause },
    );
  }
}
