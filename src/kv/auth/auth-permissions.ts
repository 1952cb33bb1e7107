/**
 * Whether a user may read or write a key or a range, by etcd's rules
 * (server/auth/range_perm_cache.go): the union of the user's roles' permissions of that
 * kind must cover the whole request. A single key is covered by any permission that
 * contains it; a range [key, end) must be covered without a gap, possibly by several
 * permissions together. An end of [0x00] means "every key from `key` on", in
 * permissions and in requests alike. Users with the root role may do anything.
 *
 * Pure functions of the auth state; what a request needs is requiredAccess() (auth-access.ts).
 */
import { ROOT_ROLE, type AuthState, type Permission } from './auth-types.js';

export type AccessKind = 'read' | 'write';

/** One thing a request needs: `kind` access to `key` (rangeEnd empty) or to a range. */
export interface KeyAccess {
  readonly kind: AccessKind;
  readonly key: Uint8Array;
  readonly rangeEnd?: Uint8Array;
}

/** [start, end) with `end` undefined = no upper bound. */
interface Interval {
  readonly start: Buffer;
  readonly end: Buffer | undefined;
}

const isOpenEnd = (end: Uint8Array): boolean => end.length === 1 && end[0] === 0;

function permissionInterval(p: Permission): Interval {
  const start = Buffer.from(p.key);
  if (p.rangeEnd.length === 0) return { start, end: Buffer.concat([start, Buffer.of(0)]) };
  return { start, end: isOpenEnd(p.rangeEnd) ? undefined : Buffer.from(p.rangeEnd) };
}

function grants(p: Permission, kind: AccessKind): boolean {
  return p.type === 'READWRITE' || (kind === 'read' ? p.type === 'READ' : p.type === 'WRITE');
}

export function hasRootRole(state: AuthState, user: string): boolean {
  return state.users.get(user)?.roles.includes(ROOT_ROLE) ?? false;
}

/** True if `user` may have `access` (auth must be on; a user that does not exist may do nothing). */
export function isPermitted(state: AuthState, user: string, access: KeyAccess): boolean {
  const record = state.users.get(user);
  if (!record) return false;
  if (record.roles.includes(ROOT_ROLE)) return true;
  const intervals: Interval[] = [];
  for (const roleName of record.roles) {
    for (const p of state.roles.get(roleName)?.permissions ?? []) {
      if (grants(p, access.kind)) intervals.push(permissionInterval(p));
    }
  }
  const key = Buffer.from(access.key);
  const rangeEnd = access.rangeEnd ?? new Uint8Array(0);
  // A single key, or an empty or inverted range (which reads nothing): the key itself.
  const end = rangeEnd.length === 0 ? Buffer.concat([key, Buffer.of(0)]) : isOpenEnd(rangeEnd) ? undefined : Buffer.from(rangeEnd);
  if (end !== undefined && Buffer.compare(end, key) <= 0) return covers(intervals, key, Buffer.concat([key, Buffer.of(0)]));
  return covers(intervals, key, end);
}

/** True if the union of `intervals` contains [start, end) (end undefined: unbounded). */
function covers(intervals: Interval[], start: Buffer, end: Buffer | undefined): boolean {
  intervals.sort((a, b) => Buffer.compare(a.start, b.start));
  let reached: Buffer | undefined = start;
  for (const interval of intervals) {
    if (reached === undefined) return true;
    if (Buffer.compare(interval.start, reached) > 0) break;
    if (interval.end === undefined) reached = undefined;
    else if (Buffer.compare(interval.end, reached) > 0) reached = interval.end;
  }
  if (reached === undefined) return true;
  return end !== undefined && Buffer.compare(reached, end) >= 0;
}
