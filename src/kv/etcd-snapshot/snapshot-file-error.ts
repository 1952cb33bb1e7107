/** A snapshot file that cannot be restored: damaged, cut short, or holding something Keel cannot take. */
export class SnapshotFileError extends Error {
  override name = 'SnapshotFileError';
}
