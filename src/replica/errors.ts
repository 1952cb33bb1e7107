/**
 * Errors a request can meet on its way through a node, with stable codes that every
 * interface (REST, the client library, the CLI) maps the same way. `outcome` says
 * whether the write may have been applied: callers retrying a write whose outcome is
 * unknown must use a session so the retry applies at most once.
 */
export type KeelErrorCode =
  | 'NO_LEADER'
  | 'NOT_LEADER'
  | 'LEADER_CHANGED'
  | 'TRANSFERRING'
  | 'OVERLOADED'
  | 'TIMEOUT'
  | 'STOPPING'
  | 'BAD_REQUEST'
  | 'TOO_LARGE'
  // Membership changes (etcd's membership errors, see membership.ts).
  | 'MEMBER_NOT_FOUND'
  | 'MEMBER_EXISTS'
  | 'ID_REMOVED'
  | 'PEER_URL_EXISTS'
  | 'NOT_ENOUGH_STARTED'
  | 'NOT_A_LEARNER'
  | 'LEARNER_NOT_READY'
  | 'TOO_MANY_LEARNERS'
  | 'CONFIG_CHANGE_PENDING'
  // Leadership transfer (move-leader): the target cannot lead, or did not take over in time.
  | 'BAD_LEADER_TRANSFEREE'
  | 'LEADER_TRANSFER_TIMEOUT';

export type Outcome = 'not-applied' | 'unknown';

export class KeelError extends Error {
  override name = 'KeelError';
  constructor(
    readonly code: KeelErrorCode,
    message: string,
    readonly outcome: Outcome = 'not-applied',
  ) {
    super(message);
  }
}
