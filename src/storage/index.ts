/**
 * Durable Raft state: the WAL, snapshot files, the file-system interface and its fault-injecting twin.
 * This file is what other folders may use of it (scripts/check-imports.mjs).
 */
export { StorageMismatchError, lostAcknowledgedEntriesAdvice } from './errors.js';
export { FaultFileSystem } from './fault-file-system.js';
export { FaultyDisk, fsyncDelayMsMax } from './faulty-disk.js';
export { NodeFileSystem } from './file-system.js';
export type { FileHandle, FileSystem, OpenMode } from './file-system.js';
export { ForwardingFileSystem, forwardingHandle } from './forwarding-file-system.js';
export { RaftStorage } from './raft-storage.js';
export { scanRecords } from './record-codec.js';
export type { FileSnapshotData } from './snapshot-file.js';
export { encodeWriteGroup } from './wal-records.js';
export { repairWal } from './wal-repair.js';
