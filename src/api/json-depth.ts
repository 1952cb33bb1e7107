/**
 * How deeply a JSON text nests, found by one scan before it is parsed. A body of a few
 * kilobytes nested tens of thousands deep overflows the parser's stack (a RangeError,
 * answered as an internal error); refused up front, it is the client's mistake, named.
 */

/** Deeper nesting than any request of the APIs needs (etcd's txns nest 8 deep at most). */
export const jsonDepthMax = 64;

/** True when `text` opens more than `limit` arrays or objects inside each other (strings skipped). */
export function nestsDeeperThan(text: string, limit: number): boolean {
  let depth = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 0x5c)
        i++; // backslash: skip the escaped character
      else if (c === 0x22) inString = false;
    } else if (c === 0x22) {
      inString = true;
    } else if (c === 0x7b || c === 0x5b) {
      if (++depth > limit) return true;
    } else if (c === 0x7d || c === 0x5d) {
      depth--;
    }
  }
  return false;
}
