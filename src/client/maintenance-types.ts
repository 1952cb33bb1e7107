/** What the maintenance calls of the client answer (the REST API's /admin routes). */

export type AlarmType = 'NOSPACE' | 'CORRUPT';

export interface AlarmMember {
  readonly memberId: number;
  readonly alarm: AlarmType;
}

export interface HashKvResult {
  /** The node that hashed. */
  readonly id: number;
  readonly hash: number;
  /** The revision hashed up to. */
  readonly revision: number;
  readonly compactRevision: number;
  readonly currentRevision: number;
}

export interface DefragmentResult {
  readonly id: number;
  readonly beforeBytes: number;
  readonly afterBytes: number;
}

export interface SnapshotDownload {
  readonly data: Uint8Array;
  /** The log index and revision the node's store was at. */
  readonly index: number;
  readonly revision: number;
}
