/**
 * Helpers for the transport's tests: one example of every message type, and
 * `waitFor`, which waits for a condition with a deadline instead of sleeping.
 */
import type { Message, MessageType } from '../../raft/types.js';
import { encodeConfigChange } from '../../raft/config.js';

const bytes = (text: string): Uint8Array => new TextEncoder().encode(text);

/** One message of every type from `from` to `to`, with distinct, non-trivial fields. */
export function exampleMessages(from: number, to: number): Message[] {
  const messages: Message[] = [
    { type: 'vote', from, to, term: 7, lastLogIndex: 41, lastLogTerm: 6, transfer: false },
    { type: 'preVote', from, to, term: 8, lastLogIndex: 41, lastLogTerm: 6, transfer: true },
    { type: 'voteResponse', from, to, term: 7, granted: true },
    { type: 'preVoteResponse', from, to, term: 8, granted: false },
    {
      type: 'append',
      from,
      to,
      term: 7,
      prevIndex: 41,
      prevTerm: 6,
      commit: 40,
      entries: [
        { term: 6, index: 42, kind: 'normal', data: bytes('put a=1') },
        { term: 7, index: 43, kind: 'normal', data: new Uint8Array(0) },
        { term: 7, index: 44, kind: 'config', data: encodeConfigChange({ type: 'addLearner', nodeId: 4 }, { voters: [1, 2, 3], learners: [4] }) },
        { term: 7, index: 45, kind: 'normal', data: new Uint8Array(300).map((_, i) => i % 256) },
      ],
    },
    { type: 'appendResponse', from, to, term: 7, success: false, index: 41, hintIndex: 39, hintTerm: 5 },
    { type: 'heartbeat', from, to, term: 7, commit: 44, seq: 1234 },
    { type: 'heartbeatResponse', from, to, term: 7, seq: 1234, lastIndex: 45 },
    {
      type: 'snapshot',
      from,
      to,
      term: 7,
      meta: { index: 1000, term: 6, config: { voters: [1, 2, 3], learners: [5] } },
      offset: 524288,
      data: new Uint8Array(1000).fill(0xab),
      done: true,
    },
    { type: 'snapshotResponse', from, to, term: 7, snapshotIndex: 1000, nextOffset: 525288, done: true },
    { type: 'timeoutNow', from, to, term: 7 },
    { type: 'readIndex', from, to, term: 7, readId: 'read-é-42' },
    { type: 'readIndexResponse', from, to, term: 7, readId: 'read-é-42', index: 44 },
    { type: 'propose', from, to, term: 7, data: bytes('{"op":"put","key":"k","value":"v"}') },
  ];
  const covered = new Set<MessageType>(messages.map((m) => m.type));
  if (covered.size !== 14) throw new Error(`exampleMessages covers ${covered.size} types, expected 14`);
  return messages;
}

/**
 * Resolves once `condition()` is true; rejects with `what` if it is still false after
 * `timeoutMs`. Polls every few milliseconds: the deadline is a safety net for a
 * broken test, never the synchronization itself.
 */
export async function waitFor(condition: () => boolean, what: string, timeoutMs = 10_000): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  while (!condition()) {
    if (performance.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for: ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}
