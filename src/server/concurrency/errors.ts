/**
 * The errors of etcd's Lock and Election recipes, with etcd's words (its concurrency
 * package's errors, which its Lock and Election services send as they are).
 */
export type ConcurrencyErrorCode = 'ELECTION_NOT_LEADER' | 'ELECTION_NO_LEADER' | 'LEADER_KEY_MISSING' | 'MUTEX_SESSION_EXPIRED' | 'ELECTION_SESSION_EXPIRED';

const messages: Record<ConcurrencyErrorCode, string> = {
  ELECTION_NOT_LEADER: 'election: not leader',
  ELECTION_NO_LEADER: 'election: no leader',
  LEADER_KEY_MISSING: '"leader" field must be provided',
  // The waiter's key went with its lease before its turn came (etcd 3.5's mutex error;
  // etcd 3.4 would answer as if the lock were held).
  MUTEX_SESSION_EXPIRED: 'mutex: session is expired',
  // The same for a candidate (Keel's own words: etcd's Campaign does not check).
  ELECTION_SESSION_EXPIRED: 'election: session expired',
};

export class ConcurrencyError extends Error {
  override name = 'ConcurrencyError';
  constructor(readonly code: ConcurrencyErrorCode) {
    super(messages[code]);
  }
}
