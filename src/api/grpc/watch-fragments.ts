/**
 * etcd's watch `fragment`: a watcher created with `fragment: true` takes an events
 * message larger than the request limit split in pieces, each with the same header and
 * watch id and at most that many bytes of events (at least one event each), every
 * piece but the last marked `fragment: true`; the client joins them. Without it, one
 * revision's events travel in one message however large, as in etcd.
 */
import type { StreamMessage } from '../../replica/index.js';
import { eventBytes } from '../../kv/index.js';

type EventsMessage = Extract<StreamMessage, { type: 'events' }>;

/** The messages to send for `message`: itself, or its fragments. */
export function fragmentsOf(message: StreamMessage, bytesMax: number): { message: StreamMessage; more: boolean }[] {
  if (message.type !== 'events' || message.fragment !== true || message.events.length < 2) return [{ message, more: false }];
  const sizes = message.events.map(eventBytes);
  if (sizes.reduce((sum, n) => sum + n, 0) <= bytesMax) return [{ message, more: false }];
  const pieces: EventsMessage[] = [];
  let start = 0;
  let bytes = 0;
  message.events.forEach((_, i) => {
    const size = sizes[i] as number;
    if (i > start && bytes + size > bytesMax) {
      pieces.push({ ...message, events: message.events.slice(start, i) });
      start = i;
      bytes = 0;
    }
    bytes += size;
  });
  pieces.push({ ...message, events: message.events.slice(start) });
  return pieces.map((piece, i) => ({ message: piece, more: i < pieces.length - 1 }));
}
