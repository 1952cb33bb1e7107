/**
 * One mapping from every error a request can meet to an HTTP status, so that each
 * route answers alike: `{"error": {"code", "message"}}`. 503s carry Retry-After; a
 * 504 says whether the write may have been applied.
 */
import type { FastifyReply } from 'fastify';
import { type KvError, type KvErrorCode, KvRequestError } from '../kv/index.js';
import { KeelError, type KeelErrorCode } from '../replica/index.js';

const kvStatus: Record<KvErrorCode, number> = {
  KEY_EMPTY: 400,
  KEY_TOO_LARGE: 413,
  VALUE_TOO_LARGE: 413,
  REQUEST_TOO_LARGE: 413,
  TOO_MANY_OPS: 400,
  TXN_TOO_DEEP: 400,
  INVALID_RANGE: 400,
  INVALID_ARGUMENT: 400,
  DUPLICATE_KEY: 400,
  VALUE_PROVIDED: 400,
  LEASE_PROVIDED: 400,
  INVALID_SESSION: 400,
  BAD_COMMAND: 400,
  COMPACTED: 410,
  FUTURE_REV: 400,
  KEY_NOT_FOUND: 404,
  SESSION_EXPIRED: 409,
  LEASE_NOT_FOUND: 404,
  LEASE_EXISTS: 409,
  LEASE_TTL_TOO_LARGE: 400,
  TOO_MANY_LEASES: 429,
  // 507 Insufficient Storage: the NOSPACE alarm is active (etcd: RESOURCE_EXHAUSTED).
  NO_SPACE: 507,
  USER_EMPTY: 401,
  USER_EXISTS: 409,
  USER_NOT_FOUND: 404,
  ROLE_EMPTY: 400,
  ROLE_EXISTS: 409,
  ROLE_NOT_FOUND: 404,
  ROOT_USER_NOT_EXIST: 412,
  ROOT_ROLE_NOT_EXIST: 412,
  ROLE_NOT_GRANTED: 412,
  PERMISSION_NOT_GIVEN: 400,
  PERMISSION_NOT_GRANTED: 412,
  INVALID_AUTH_MGMT: 400,
  AUTH_NOT_ENABLED: 412,
  AUTH_FAILED: 401,
  INVALID_AUTH_TOKEN: 401,
  AUTH_OLD_REVISION: 401,
  PERMISSION_DENIED: 403,
};

const keelStatus: Record<KeelErrorCode, number> = {
  NO_LEADER: 503,
  NOT_LEADER: 503,
  LEADER_CHANGED: 503,
  TRANSFERRING: 503,
  OVERLOADED: 503,
  STOPPING: 503,
  TIMEOUT: 504,
  BAD_REQUEST: 400,
  TOO_LARGE: 413,
  MEMBER_NOT_FOUND: 404,
  MEMBER_EXISTS: 409,
  ID_REMOVED: 410,
  PEER_URL_EXISTS: 409,
  NOT_ENOUGH_STARTED: 412,
  NOT_A_LEARNER: 412,
  LEARNER_NOT_READY: 412,
  TOO_MANY_LEARNERS: 412,
  CONFIG_CHANGE_PENDING: 503,
  BAD_LEADER_TRANSFEREE: 400,
  LEADER_TRANSFER_TIMEOUT: 504,
};

export function isKeelErrorCode(code: string): code is KeelErrorCode {
  return Object.hasOwn(keelStatus, code);
}

export function sendError(reply: FastifyReply, status: number, code: string, message: string): FastifyReply {
  if (status === 503) reply.header('retry-after', '1');
  return reply.code(status).send({ error: { code, message } });
}

export function sendKvError(reply: FastifyReply, error: KvError): FastifyReply {
  return sendError(reply, kvStatus[error.code] ?? 400, error.code, error.message);
}

/** Errors thrown by the node (KeelError) or a check (KvRequestError) become their status; anything else is rethrown. */
export function sendThrown(reply: FastifyReply, error: unknown): FastifyReply {
  if (error instanceof KvRequestError) return sendKvError(reply, { code: error.code, message: error.message });
  if (error instanceof KeelError) {
    return reply
      .code(keelStatus[error.code])
      .headers(keelStatus[error.code] === 503 ? { 'retry-after': '1' } : {})
      .send({ error: { code: error.code, message: error.message, outcome: error.outcome } });
  }
  throw error;
}
