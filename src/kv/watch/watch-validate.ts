/**
 * Checks a watch request at the boundary: the key range follows the same rules as a
 * range read (non-empty key within keyBytesMax, rangeEnd after key, [0x00] or empty),
 * and the start revision is a non-negative integer.
 */
import { kvError, type KvError } from '../errors.js';
import { HARD_LIMITS, validateRangeRequest } from '../validate.js';
import type { WatchSpec } from './watcher.js';

export function validateWatchSpec(spec: WatchSpec): KvError | undefined {
  const rangeProblem = validateRangeRequest({ type: 'range', key: spec.key, ...(spec.rangeEnd ? { rangeEnd: spec.rangeEnd } : {}) }, HARD_LIMITS);
  if (rangeProblem) return { code: rangeProblem.code, message: rangeProblem.message.replace(/^range: /, 'watch: ') };
  if (!Number.isSafeInteger(spec.startRevision) || spec.startRevision < 0) {
    return kvError('INVALID_ARGUMENT', `watch: startRevision must be a non-negative integer, got ${spec.startRevision}`);
  }
  return undefined;
}
