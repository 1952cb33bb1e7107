/**
 * One mapping from every error a request can meet to the gRPC status code and the
 * message etcd sends for it. etcd's client libraries branch on both (clientv3 retries
 * UNAVAILABLE; the compaction and lease messages are matched as text), so the messages
 * are etcd's, word for word, where etcd has one.
 */
import { type StatusCode, status } from './status.js';
import { type KvError, type KvErrorCode, KvRequestError } from '../../kv/index.js';
import { KeelError, type KeelErrorCode } from '../../replica/index.js';
import { ConcurrencyError } from '../../server/index.js';

/** An error to answer a call with: a gRPC status code and etcd's message. */
export class GrpcError extends Error {
  override name = 'GrpcError';
  constructor(
    readonly code: StatusCode,
    message: string,
  ) {
    super(message);
  }
}

type Mapping = readonly [StatusCode, string | undefined];

/** undefined message: use Keel's own message (no etcd equivalent), prefixed as etcd does. */
const kvErrors: Record<KvErrorCode, Mapping> = {
  KEY_EMPTY: [status.INVALID_ARGUMENT, 'etcdserver: key is not provided'],
  KEY_TOO_LARGE: [status.INVALID_ARGUMENT, undefined],
  VALUE_TOO_LARGE: [status.INVALID_ARGUMENT, 'etcdserver: request is too large'],
  REQUEST_TOO_LARGE: [status.INVALID_ARGUMENT, 'etcdserver: request is too large'],
  TOO_MANY_OPS: [status.INVALID_ARGUMENT, 'etcdserver: too many operations in txn request'],
  TXN_TOO_DEEP: [status.INVALID_ARGUMENT, undefined],
  INVALID_RANGE: [status.INVALID_ARGUMENT, undefined],
  INVALID_ARGUMENT: [status.INVALID_ARGUMENT, undefined],
  DUPLICATE_KEY: [status.INVALID_ARGUMENT, 'etcdserver: duplicate key given in txn request'],
  VALUE_PROVIDED: [status.INVALID_ARGUMENT, 'etcdserver: value is provided'],
  LEASE_PROVIDED: [status.INVALID_ARGUMENT, 'etcdserver: lease is provided'],
  INVALID_SESSION: [status.INVALID_ARGUMENT, undefined],
  BAD_COMMAND: [status.INVALID_ARGUMENT, undefined],
  COMPACTED: [status.OUT_OF_RANGE, 'etcdserver: mvcc: required revision has been compacted'],
  FUTURE_REV: [status.OUT_OF_RANGE, 'etcdserver: mvcc: required revision is a future revision'],
  KEY_NOT_FOUND: [status.INVALID_ARGUMENT, 'etcdserver: key not found'],
  SESSION_EXPIRED: [status.FAILED_PRECONDITION, undefined],
  LEASE_NOT_FOUND: [status.NOT_FOUND, 'etcdserver: requested lease not found'],
  LEASE_EXISTS: [status.FAILED_PRECONDITION, 'etcdserver: lease already exists'],
  LEASE_TTL_TOO_LARGE: [status.OUT_OF_RANGE, 'etcdserver: too large lease TTL'],
  TOO_MANY_LEASES: [status.RESOURCE_EXHAUSTED, undefined],
  NO_SPACE: [status.RESOURCE_EXHAUSTED, 'etcdserver: mvcc: database space exceeded'],
  // etcd's auth errors (api/v3rpc/rpctypes/error.go), code and text.
  USER_EMPTY: [status.INVALID_ARGUMENT, 'etcdserver: user name is empty'],
  USER_EXISTS: [status.FAILED_PRECONDITION, 'etcdserver: user name already exists'],
  USER_NOT_FOUND: [status.FAILED_PRECONDITION, 'etcdserver: user name not found'],
  ROLE_EMPTY: [status.INVALID_ARGUMENT, 'etcdserver: role name is empty'],
  ROLE_EXISTS: [status.FAILED_PRECONDITION, 'etcdserver: role name already exists'],
  ROLE_NOT_FOUND: [status.FAILED_PRECONDITION, 'etcdserver: role name not found'],
  ROOT_USER_NOT_EXIST: [status.FAILED_PRECONDITION, 'etcdserver: root user does not exist'],
  ROOT_ROLE_NOT_EXIST: [status.FAILED_PRECONDITION, 'etcdserver: root user does not have root role'],
  ROLE_NOT_GRANTED: [status.FAILED_PRECONDITION, 'etcdserver: role is not granted to the user'],
  PERMISSION_NOT_GIVEN: [status.INVALID_ARGUMENT, 'etcdserver: permission not given'],
  PERMISSION_NOT_GRANTED: [status.FAILED_PRECONDITION, 'etcdserver: permission is not granted to the role'],
  INVALID_AUTH_MGMT: [status.INVALID_ARGUMENT, 'etcdserver: invalid auth management'],
  AUTH_NOT_ENABLED: [status.FAILED_PRECONDITION, 'etcdserver: authentication is not enabled'],
  AUTH_FAILED: [status.INVALID_ARGUMENT, 'etcdserver: authentication failed, invalid user ID or password'],
  INVALID_AUTH_TOKEN: [status.UNAUTHENTICATED, 'etcdserver: invalid auth token'],
  AUTH_OLD_REVISION: [status.INVALID_ARGUMENT, 'etcdserver: revision of auth store is old'],
  PERMISSION_DENIED: [status.PERMISSION_DENIED, 'etcdserver: permission denied'],
};

const keelErrors: Record<KeelErrorCode, Mapping> = {
  NO_LEADER: [status.UNAVAILABLE, 'etcdserver: no leader'],
  NOT_LEADER: [status.UNAVAILABLE, 'etcdserver: not leader'],
  LEADER_CHANGED: [status.UNAVAILABLE, 'etcdserver: leader changed'],
  TRANSFERRING: [status.UNAVAILABLE, 'etcdserver: leadership transfer in progress'],
  OVERLOADED: [status.RESOURCE_EXHAUSTED, 'etcdserver: too many requests'],
  TIMEOUT: [status.UNAVAILABLE, 'etcdserver: request timed out'],
  STOPPING: [status.UNAVAILABLE, 'etcdserver: server stopped'],
  BAD_REQUEST: [status.INVALID_ARGUMENT, undefined],
  TOO_LARGE: [status.INVALID_ARGUMENT, 'etcdserver: request is too large'],
  MEMBER_NOT_FOUND: [status.NOT_FOUND, 'etcdserver: member not found'],
  MEMBER_EXISTS: [status.FAILED_PRECONDITION, 'etcdserver: member ID already exist'],
  ID_REMOVED: [status.NOT_FOUND, 'etcdserver: ID removed'],
  PEER_URL_EXISTS: [status.FAILED_PRECONDITION, 'etcdserver: Peer URLs already exists'],
  NOT_ENOUGH_STARTED: [status.FAILED_PRECONDITION, 'etcdserver: re-configuration failed due to not enough started members'],
  NOT_A_LEARNER: [status.FAILED_PRECONDITION, 'etcdserver: can only promote a learner member'],
  LEARNER_NOT_READY: [status.FAILED_PRECONDITION, 'etcdserver: can only promote a learner member which is in sync with leader'],
  TOO_MANY_LEARNERS: [status.FAILED_PRECONDITION, 'etcdserver: too many learner members in cluster'],
  CONFIG_CHANGE_PENDING: [status.UNAVAILABLE, undefined],
  BAD_LEADER_TRANSFEREE: [status.FAILED_PRECONDITION, 'etcdserver: bad leader transferee'],
  LEADER_TRANSFER_TIMEOUT: [status.UNAVAILABLE, 'etcdserver: request timed out, leader transfer took too long'],
};

function fromMapping([code, message]: Mapping, own: string): GrpcError {
  return new GrpcError(code, message ?? `etcdserver: ${own}`);
}

export function kvErrorToGrpc(error: KvError): GrpcError {
  return fromMapping(kvErrors[error.code], error.message);
}

/** Any thrown value as the error a client should see; unknown ones are INTERNAL. */
export function toGrpcError(error: unknown): GrpcError {
  if (error instanceof GrpcError) return error;
  if (error instanceof KvRequestError) return fromMapping(kvErrors[error.code], error.message);
  if (error instanceof KeelError) return fromMapping(keelErrors[error.code], error.message);
  // etcd's Lock and Election services send their recipes' errors with no code of their own.
  if (error instanceof ConcurrencyError) return new GrpcError(status.UNKNOWN, error.message);
  return new GrpcError(status.INTERNAL, `etcdserver: internal error: ${error instanceof Error ? error.message : String(error)}`);
}
