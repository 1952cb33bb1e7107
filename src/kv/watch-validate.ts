/**
 * Checks a watch request at the boundary: the key range follows the same rules as a
 * range read (key within keyBytesMax, rangeEnd after key, [0x00] or empty), and the
 * start revision is a non-negative integer. Unlike a read, the key may be empty, as
 * etcd allows: with rangeEnd [0x00] it watches every key (what `etcdctl watch --prefix
 * ""` sends), alone it watches the empty key, which no write can produce.
 */
import { kvError, type KvError } from './errors.js';
import { HARD_LIMITS, validateRangeRequest } from './validate.js';
import type { WatchSpec } from './watcher.js';

const leastKey = new Uint8Array([0]);

export function validateWatchSpec(spec: WatchSpec): KvError | undefined {
  // The empty key is checked as [0x00], the least non-empty key: every rangeEnd that
  // is valid after one is valid after the other.
  const key = spec.key.length === 0 ? leastKey : spec.key;
  const rangeProblem = validateRangeRequest({ type: 'range', key, ...(spec.rangeEnd ? { rangeEnd: spec.rangeEnd } : {}) }, HARD_LIMITS);
  if (rangeProblem) return { code: rangeProblem.code, message: rangeProblem.message.replace(/^range: /, 'watch: ') };
  if (!Number.isSafeInteger(spec.startRevision) || spec.startRevision < 0) {
    return kvError('INVALID_ARGUMENT', `watch: startRevision must be a non-negative integer, got ${spec.startRevision}`);
  }
  return undefined;
}
