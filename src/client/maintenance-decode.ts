/** Shape checks for the maintenance answers (see decode.ts). */
import type { AlarmJson, AlarmsJson, DefragmentJson, HashKvJson } from '../wire/index.js';
import { ShapeError, integer, object } from './decode.js';
import type { AlarmMember, DefragmentResult, HashKvResult } from './maintenance-types.js';

export function alarmList(value: unknown, what: string, field: 'alarms' | 'changed' = 'alarms'): AlarmMember[] {
  const json = object<AlarmsJson>(value, what);
  const alarms = json[field];
  if (!Array.isArray(alarms)) throw new ShapeError(`${what}.${field} is not an array`);
  return alarms.map((a, i) => {
    const alarm = object<AlarmJson>(a, `${what}.${field}[${i}]`);
    if (alarm['alarm'] !== 'NOSPACE' && alarm['alarm'] !== 'CORRUPT') throw new ShapeError(`${what}.${field}[${i}].alarm is not an alarm type`);
    return { memberId: integer(alarm, 'memberId', `${what}.${field}[${i}]`), alarm: alarm['alarm'] };
  });
}

export function hashKvResult(value: unknown): HashKvResult {
  const json = object<HashKvJson>(value, 'hash');
  const field = (name: keyof HashKvJson): number => integer(json, name, 'hash');
  return {
    id: field('id'),
    hash: field('hash'),
    revision: field('revision'),
    compactRevision: field('compactRevision'),
    currentRevision: field('currentRevision'),
  };
}

export function defragmentResult(value: unknown): DefragmentResult {
  const json = object<DefragmentJson>(value, 'defragment');
  return {
    id: integer(json, 'id', 'defragment'),
    beforeBytes: integer(json, 'beforeBytes', 'defragment'),
    afterBytes: integer(json, 'afterBytes', 'defragment'),
  };
}
