/**
 * Alarms in the replicated state (etcd's alarm store, server/etcdserver/api/v3alarm):
 * which member raised which alarm. They are changed only by AlarmRequest commands
 * through the log, so every replica holds the same set and refuses the same writes.
 *
 * While any NOSPACE alarm is active the store refuses every command that would add
 * data — a put, or a txn with a put anywhere in either branch — with NO_SPACE, as
 * etcd's capped applier does (applierV3Capped: a request whose quota cost is above
 * zero). Deletes, compaction, reads and alarm commands still apply, so an operator
 * can free space and then disarm.
 *
 * Stored in the meta table as `alarm/<TYPE>/<memberId>` -> varint 1, so snapshots
 * carry them and a restart keeps them.
 */
import { kvError, type KvError } from './errors.js';
import type { AlarmMember, AlarmRequest, AlarmType, CommandBody, RequestOp } from './types.js';

/** etcd's ErrNoSpace text, which etcd clients show and some match on. */
export const NO_SPACE_MESSAGE = 'etcdserver: mvcc: database space exceeded';

/** NO_SPACE, with why this node refused when it was not the replicated alarm (the gRPC API answers etcd's text alone). */
export const noSpaceError = (detail?: string): KvError => kvError('NO_SPACE', detail === undefined ? NO_SPACE_MESSAGE : `${NO_SPACE_MESSAGE}: ${detail}`);

const META_PREFIX = 'alarm/';

export function alarmMetaKey(alarm: AlarmMember): Buffer {
  return Buffer.from(`${META_PREFIX}${alarm.alarm}/${alarm.memberId}`, 'latin1');
}

/** The alarm a meta key names, or undefined if the key is not an alarm's. */
export function alarmFromMetaKey(key: Uint8Array): AlarmMember | undefined {
  const text = Buffer.from(key).toString('latin1');
  const match = /^alarm\/(NOSPACE|CORRUPT)\/(\d+)$/.exec(text);
  return match ? { alarm: match[1] as AlarmType, memberId: Number(match[2]) } : undefined;
}

export const alarmMetaPrefix = (): Buffer => Buffer.from(META_PREFIX, 'latin1');

/** Alarms in etcd's listing order: by member, then by type. */
export function sortAlarms(alarms: readonly AlarmMember[]): AlarmMember[] {
  return [...alarms].sort((a, b) => a.memberId - b.memberId || a.alarm.localeCompare(b.alarm));
}

export function sameAlarm(a: AlarmMember, b: AlarmMember): boolean {
  return a.memberId === b.memberId && a.alarm === b.alarm;
}

/** The alarms after `request`, and the ones it changed (etcd answers with those). */
export function alarmsAfter(alarms: readonly AlarmMember[], request: AlarmRequest): { alarms: AlarmMember[]; changed: AlarmMember[] } {
  const target: AlarmMember = { memberId: request.memberId, alarm: request.alarm };
  const present = alarms.some((a) => sameAlarm(a, target));
  if (request.action === 'activate') {
    return { alarms: present ? [...alarms] : sortAlarms([...alarms, target]), changed: [target] };
  }
  return { alarms: alarms.filter((a) => !sameAlarm(a, target)), changed: present ? [target] : [] };
}

/** True for a command that would add data: what a NOSPACE alarm refuses. */
export function addsData(body: CommandBody | RequestOp): boolean {
  switch (body.type) {
    case 'put':
    // etcd refuses new leases too while NOSPACE is raised (applierV3Capped).
    case 'leaseGrant':
      return true;
    case 'txn':
      return [...body.success, ...body.failure].some(addsData);
    default:
      return false;
  }
}

export function hasNoSpaceAlarm(alarms: readonly AlarmMember[]): boolean {
  return alarms.some((a) => a.alarm === 'NOSPACE');
}
