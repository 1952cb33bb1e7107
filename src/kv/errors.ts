/**
 * Errors that callers of the key-value store handle. They are plain values with a
 * stable `code` (callers branch on it; API adapters map it to etcd's gRPC errors) and a
 * `message` for people that names the problem. They are plain objects, not Error
 * instances, because they are part of replicated results: a command's result is saved
 * in the session table and must encode, decode and compare the same on every replica.
 *
 * Bugs are not KvErrors: they are assertion failures that crash (lib/assert.ts).
 */
export type KvErrorCode =
  // Bad input, found by validate.ts before anything changes.
  | 'KEY_EMPTY'
  | 'KEY_TOO_LARGE'
  | 'VALUE_TOO_LARGE'
  | 'REQUEST_TOO_LARGE'
  | 'TOO_MANY_OPS'
  | 'TXN_TOO_DEEP'
  | 'INVALID_RANGE'
  | 'INVALID_ARGUMENT'
  | 'DUPLICATE_KEY'
  | 'VALUE_PROVIDED'
  | 'LEASE_PROVIDED'
  | 'INVALID_SESSION'
  | 'BAD_COMMAND'
  // Depend on the store's state when the command is applied (the same on every replica).
  | 'COMPACTED'
  | 'FUTURE_REV'
  | 'KEY_NOT_FOUND'
  | 'SESSION_EXPIRED'
  | 'LEASE_NOT_FOUND'
  | 'LEASE_EXISTS'
  | 'LEASE_TTL_TOO_LARGE'
  | 'TOO_MANY_LEASES'
  // A write that adds data while the NOSPACE alarm is active (etcd's ErrNoSpace).
  | 'NO_SPACE'
  // Authentication (etcd's auth errors): the state's rules on apply (auth-table.ts) ...
  | 'USER_EMPTY'
  | 'USER_EXISTS'
  | 'USER_NOT_FOUND'
  | 'ROLE_EMPTY'
  | 'ROLE_EXISTS'
  | 'ROLE_NOT_FOUND'
  | 'ROOT_USER_NOT_EXIST'
  | 'ROOT_ROLE_NOT_EXIST'
  | 'ROLE_NOT_GRANTED'
  | 'PERMISSION_NOT_GIVEN'
  | 'PERMISSION_NOT_GRANTED'
  | 'INVALID_AUTH_MGMT'
  // ... and the checks of a request against it (server/auth).
  | 'AUTH_NOT_ENABLED'
  | 'AUTH_FAILED'
  | 'INVALID_AUTH_TOKEN'
  | 'AUTH_OLD_REVISION'
  | 'PERMISSION_DENIED';

export interface KvError {
  readonly code: KvErrorCode;
  readonly message: string;
}

export const kvError = (code: KvErrorCode, message: string): KvError => ({ code, message });

/** Either a value or a KvError; `ok` tells which. */
export type KvResult<T> = { readonly ok: true; readonly value: T } | { readonly ok: false; readonly error: KvError };

/** For callers that prefer exceptions (API adapters): an Error carrying the stable code. */
export class KvRequestError extends Error {
  override name = 'KvRequestError';
  readonly code: KvErrorCode;

  constructor(error: KvError) {
    super(error.message);
    this.code = error.code;
  }
}

const codes: ReadonlySet<string> = new Set<KvErrorCode>([
  'KEY_EMPTY',
  'KEY_TOO_LARGE',
  'VALUE_TOO_LARGE',
  'REQUEST_TOO_LARGE',
  'TOO_MANY_OPS',
  'TXN_TOO_DEEP',
  'INVALID_RANGE',
  'INVALID_ARGUMENT',
  'DUPLICATE_KEY',
  'VALUE_PROVIDED',
  'LEASE_PROVIDED',
  'INVALID_SESSION',
  'BAD_COMMAND',
  'COMPACTED',
  'FUTURE_REV',
  'KEY_NOT_FOUND',
  'SESSION_EXPIRED',
  'LEASE_NOT_FOUND',
  'LEASE_EXISTS',
  'LEASE_TTL_TOO_LARGE',
  'TOO_MANY_LEASES',
  'BAD_COMMAND',
  'COMPACTED',
  'FUTURE_REV',
  'KEY_NOT_FOUND',
  'SESSION_EXPIRED',
  'NO_SPACE',
  'USER_EMPTY',
  'USER_EXISTS',
  'USER_NOT_FOUND',
  'ROLE_EMPTY',
  'ROLE_EXISTS',
  'ROLE_NOT_FOUND',
  'ROOT_USER_NOT_EXIST',
  'ROOT_ROLE_NOT_EXIST',
  'ROLE_NOT_GRANTED',
  'PERMISSION_NOT_GIVEN',
  'PERMISSION_NOT_GRANTED',
  'INVALID_AUTH_MGMT',
  'AUTH_NOT_ENABLED',
  'AUTH_FAILED',
  'INVALID_AUTH_TOKEN',
  'AUTH_OLD_REVISION',
  'PERMISSION_DENIED',
]);

export function isKvErrorCode(code: string): code is KvErrorCode {
  return codes.has(code);
}
