import { type Entry, type Message, messageTypeNumbers } from '../raft/index.js';

/** Short readable forms of the core's data, for trace lines. */

/** The numbers of a message that go into the fingerprint. */
export function messageNumbers(message: Message): number[] {
  return [message.from, message.to, messageTypeNumbers[message.type], message.term];
}

export function describeMessage(message: Message): string {
  const head = `${message.from}->${message.to} ${message.type} t${message.term}`;
  switch (message.type) {
    case 'vote':
    case 'preVote':
      return `${head} last=${message.lastLogIndex}/t${message.lastLogTerm}${message.transfer ? ' transfer' : ''}`;
    case 'voteResponse':
    case 'preVoteResponse':
      return `${head} ${message.granted ? 'granted' : 'rejected'}`;
    case 'append':
      return `${head} prev=${message.prevIndex}/t${message.prevTerm} ${describeEntries(message.entries)} commit=${message.commit}${message.commitOnly ? ' commit-only' : ''}`;
    case 'appendResponse':
      return `${head} ${message.success ? 'ok' : 'reject'} index=${message.index}${message.success ? '' : ` hint=${message.hintIndex}/t${message.hintTerm}`}`;
    case 'heartbeat':
      return `${head} commit=${message.commit}`;
    case 'heartbeatResponse':
      return `${head} last=${message.lastIndex}`;
    case 'snapshot':
      return `${head} snap=${message.meta.index}/t${message.meta.term} offset=${message.offset} bytes=${message.data.length}${message.done ? ' done' : ''}`;
    case 'snapshotResponse':
      return `${head} snap=${message.snapshotIndex} next=${message.nextOffset}${message.done ? ' done' : ''}`;
    case 'timeoutNow':
      return head;
    case 'readIndex':
      return `${head} read=${message.readId}`;
    case 'readIndexResponse':
      return `${head} read=${message.readId} index=${message.index}`;
    case 'propose':
      return `${head} ${describeData(message.data)}`;
    case 'leaseRenew':
      return `${head} renew=${message.renewId} lease=${message.lease}`;
    case 'leaseRenewResponse':
      return `${head} renew=${message.renewId} ttl=${message.ttl}`;
  }
}

function describeEntries(entries: readonly Entry[]): string {
  if (entries.length === 0) return 'entries=[]';
  const first = entries[0] as Entry;
  const last = entries[entries.length - 1] as Entry;
  const terms = first.term === last.term ? `t${first.term}` : `t${first.term}..t${last.term}`;
  return first.index === last.index ? `entries=[${first.index} ${terms}]` : `entries=[${first.index}..${last.index} ${terms}]`;
}

const decoder = new TextDecoder();

/** A proposal's bytes as text, cut short. */
function describeData(data: Uint8Array): string {
  if (data.length === 0) return 'no-op';
  const text = decoder.decode(data);
  return text.length > 80 ? `${text.slice(0, 77)}...` : text;
}
