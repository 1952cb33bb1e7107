/**
 * The binary encoding of Raft messages between peers, and the decoder that turns a
 * peer's untrusted bytes into a typed `Message`. This is the only place that happens
 * (docs/internals/design.md: "validated once at the boundary"), so the decoder checks
 * everything the core relies on and throws a `MessageDecodeError` naming the field at
 * fault.
 *
 * Layout (one message per frame, see framing.ts; all integers are varints, see
 * binary.ts):
 *
 *   u8 tag | from | to | term | fields of the type, in the order of `encodeMessage`
 *
 *   bool        one byte, 0 or 1
 *   bytes       varint length, then the bytes
 *   string      varint byte length, then UTF-8
 *   entry       term | index | u8 kind (0 normal, 1 config) | bytes data
 *   config      varint count, voter ids | varint count, learner ids
 *   meta        index | term | config
 *
 * What the decoder enforces beyond the layout:
 *   - a known tag, booleans 0 or 1, integers in [0, 2^53), no trailing bytes;
 *   - `from` and `to` are real node ids (not 0, which means "none");
 *   - append entries follow `prevIndex` contiguously, with terms that never
 *     decrease, no lower than `prevTerm` and no higher than the message's term
 *     (Log Matching, §5.3: the core computes the last new index as
 *     prevIndex + entries.length and trusts the order);
 *   - a config entry's data decodes as a configuration change (the core would
 *     otherwise fail an assertion on it, crashing the node);
 *   - a snapshot's configuration lists real, distinct ids, no id both voter and
 *     learner, and the snapshot's term is no higher than the message's term.
 */
import {
  type ClusterConfig,
  type Entry,
  type EntryKind,
  type Message,
  type MessageType,
  type SnapshotMeta,
  messageTypeNumbers,
  decodeConfigEntry,
} from '../raft/index.js';
import { assert, unreachable, ByteReader, ByteWriter } from '../lib/index.js';
import { frameCopyBytesMax, framePayload, joinParts } from './framing.js';

/** Thrown for any peer bytes that are not a valid message. `field` names where. */
export class MessageDecodeError extends Error {
  override name = 'MessageDecodeError';
  readonly code = 'MESSAGE_DECODE';
  constructor(
    readonly field: string,
    readonly problem: string,
  ) {
    super(`Cannot decode peer message: ${field}: ${problem}`);
  }
}

/** Wire tags (raft/types.ts): never renumber one. */
export const messageTags = messageTypeNumbers;

const typesByTag: readonly (MessageType | undefined)[] = (() => {
  const table: (MessageType | undefined)[] = [];
  for (const [type, tag] of Object.entries(messageTags)) table[tag] = type as MessageType;
  return table;
})();

const entryKinds: readonly EntryKind[] = ['normal', 'config'];

/** The bytes of `bytes` that PartsWriter copies: none of a byte string it leaves where it is. */
function copiedBytes(bytes: Uint8Array): number {
  return bytes.length < frameCopyBytesMax ? bytes.length : 0;
}

/** A rough upper bound of the bytes PartsWriter writes for a message, to size its buffer once. */
function sizeHint(message: Message): number {
  switch (message.type) {
    case 'append': {
      let bytes = 64;
      for (const entry of message.entries) bytes += 24 + copiedBytes(entry.data);
      return bytes;
    }
    case 'snapshot':
      return 64 + copiedBytes(message.data) + 9 * (message.meta.config.voters.length + message.meta.config.learners.length);
    case 'propose':
      return 40 + copiedBytes(message.data);
    case 'readIndex':
    case 'readIndexResponse':
      return 40 + 3 * message.readId.length;
    case 'leaseRenew':
    case 'leaseRenewResponse':
      return 56 + 3 * message.renewId.length;
    default:
      return 48;
  }
}

/** The message's bytes in one piece (encodeMessageParts, joined when there are several). */
export function encodeMessage(message: Message): Uint8Array {
  const parts = encodeMessageParts(message);
  return parts.length === 1 ? (parts[0] as Uint8Array) : joinParts(framePayload(parts));
}

/**
 * The message's bytes in parts, to be written one after the other as one frame: a
 * byte string of frameCopyBytesMax or more (an entry's data, a snapshot chunk) is a
 * part of its own, the caller's bytes as they are, so that an append carrying a
 * 64 KiB entry is not copied into each follower's message.
 */
export function encodeMessageParts(message: Message): Uint8Array[] {
  const w = new PartsWriter(sizeHint(message));
  writeMessage(w, message);
  return w.parts();
}

/** A ByteWriter that leaves large byte strings where they are, as parts between its own bytes. */
class PartsWriter extends ByteWriter {
  private readonly done: Uint8Array[] = [];

  override byteString(bytes: Uint8Array): this {
    if (bytes.length < frameCopyBytesMax) return super.byteString(bytes);
    this.varint(bytes.length);
    this.done.push(this.finish(), bytes);
    return this;
  }

  /** The parts; the writer is done with. The last is a view of its buffer, not a copy. */
  parts(): Uint8Array[] {
    const rest = this.written();
    if (rest.length > 0) this.done.push(rest);
    return this.done;
  }
}

function writeMessage(w: ByteWriter, message: Message): void {
  w.u8(messageTags[message.type]);
  assert(message.from > 0 && message.to > 0, () => `encodeMessage: ${message.type} from ${message.from} to ${message.to}: ids must be at least 1`);
  w.varint(message.from);
  w.varint(message.to);
  w.varint(message.term);
  switch (message.type) {
    case 'vote':
    case 'preVote':
      w.varint(message.lastLogIndex);
      w.varint(message.lastLogTerm);
      w.bool(message.transfer);
      break;
    case 'voteResponse':
    case 'preVoteResponse':
      w.bool(message.granted);
      break;
    case 'append':
      w.varint(message.prevIndex);
      w.varint(message.prevTerm);
      w.varint(message.commit);
      w.bool(message.commitOnly === true);
      w.varint(message.entries.length);
      for (const entry of message.entries) writeEntry(w, entry);
      break;
    case 'appendResponse':
      w.bool(message.success);
      w.varint(message.index);
      w.varint(message.hintIndex);
      w.varint(message.hintTerm);
      break;
    case 'heartbeat':
      w.varint(message.commit);
      w.varint(message.seq);
      break;
    case 'heartbeatResponse':
      w.varint(message.seq);
      w.varint(message.lastIndex);
      break;
    case 'snapshot':
      writeMeta(w, message.meta);
      w.varint(message.offset);
      w.bool(message.done);
      w.byteString(message.data);
      break;
    case 'snapshotResponse':
      w.varint(message.snapshotIndex);
      w.varint(message.nextOffset);
      w.bool(message.done);
      break;
    case 'timeoutNow':
      break;
    case 'readIndex':
      w.string(message.readId);
      break;
    case 'readIndexResponse':
      w.string(message.readId);
      w.varint(message.index);
      break;
    case 'propose':
      w.byteString(message.data);
      break;
    case 'leaseRenew':
      w.string(message.renewId);
      w.varint(message.lease);
      break;
    case 'leaseRenewResponse':
      w.string(message.renewId);
      w.varint(message.ttl);
      break;
    default:
      unreachable(message, 'message type');
  }
}

function writeEntry(w: ByteWriter, entry: Entry): void {
  w.varint(entry.term);
  w.varint(entry.index);
  w.u8(entryKinds.indexOf(entry.kind));
  w.byteString(entry.data);
}

function writeMeta(w: ByteWriter, meta: SnapshotMeta): void {
  w.varint(meta.index);
  w.varint(meta.term);
  writeIds(w, meta.config.voters);
  writeIds(w, meta.config.learners);
}

function writeIds(w: ByteWriter, ids: readonly number[]): void {
  w.varint(ids.length);
  for (const id of ids) w.varint(id);
}

/** Decodes one message, or throws MessageDecodeError. Byte fields are copies. */
export function decodeMessage(bytes: Uint8Array): Message {
  const r = new ByteReader(bytes, (field, problem) => {
    throw new MessageDecodeError(field ?? 'message', problem);
  });
  const tag = r.u8('tag');
  const type = typesByTag[tag];
  if (type === undefined) throw new MessageDecodeError('tag', `unknown message type tag ${tag}`);
  const from = r.positiveVarint(`${type}.from`);
  const to = r.positiveVarint(`${type}.to`);
  const term = r.varint(`${type}.term`);
  const message = decodeBody(r, type, from, to, term);
  r.end(type);
  return message;
}

function decodeBody(r: ByteReader, type: MessageType, from: number, to: number, term: number): Message {
  const f = (name: string): string => `${type}.${name}`;
  switch (type) {
    case 'vote':
    case 'preVote':
      return {
        type,
        from,
        to,
        term,
        lastLogIndex: r.varint(f('lastLogIndex')),
        lastLogTerm: r.varint(f('lastLogTerm')),
        transfer: r.bool(f('transfer')),
      };
    case 'voteResponse':
    case 'preVoteResponse':
      return { type, from, to, term, granted: r.bool(f('granted')) };
    case 'append': {
      const prevIndex = r.varint(f('prevIndex'));
      const prevTerm = r.varint(f('prevTerm'));
      const commit = r.varint(f('commit'));
      const commitOnly = r.bool(f('commitOnly'));
      // An entry takes at least 4 bytes: term, index, kind, data length.
      const count = r.count(f('entries.length'), 4);
      const entries: Entry[] = new Array<Entry>(count);
      let lastTerm = prevTerm;
      for (let i = 0; i < count; i++) {
        const entry = readEntry(r, `${f('entries')}[${i}]`);
        if (entry.index !== prevIndex + 1 + i) {
          throw new MessageDecodeError(
            `${f('entries')}[${i}].index`,
            `expected ${prevIndex + 1 + i} (entries follow prevIndex ${prevIndex} contiguously), got ${entry.index}`,
          );
        }
        if (entry.term < lastTerm) {
          throw new MessageDecodeError(`${f('entries')}[${i}].term`, `term ${entry.term} is lower than the term ${lastTerm} before it`);
        }
        if (entry.term > term) {
          throw new MessageDecodeError(`${f('entries')}[${i}].term`, `term ${entry.term} is higher than the message's term ${term}`);
        }
        lastTerm = entry.term;
        entries[i] = entry;
      }
      if (commitOnly && count > 0) throw new MessageDecodeError(f('commitOnly'), `set on an append of ${count} entries (only an empty append is commit-only)`);
      return { type, from, to, term, prevIndex, prevTerm, entries, commit, ...(commitOnly ? { commitOnly } : {}) };
    }
    case 'appendResponse':
      return {
        type,
        from,
        to,
        term,
        success: r.bool(f('success')),
        index: r.varint(f('index')),
        hintIndex: r.varint(f('hintIndex')),
        hintTerm: r.varint(f('hintTerm')),
      };
    case 'heartbeat':
      return { type, from, to, term, commit: r.varint(f('commit')), seq: r.varint(f('seq')) };
    case 'heartbeatResponse':
      return { type, from, to, term, seq: r.varint(f('seq')), lastIndex: r.varint(f('lastIndex')) };
    case 'snapshot': {
      const meta = readMeta(r, f('meta'));
      if (meta.term > term) throw new MessageDecodeError(f('meta.term'), `snapshot term ${meta.term} is higher than the message's term ${term}`);
      const offset = r.varint(f('offset'));
      const done = r.bool(f('done'));
      const data = r.byteString(f('data'));
      if (offset + data.length > Number.MAX_SAFE_INTEGER) throw new MessageDecodeError(f('offset'), 'offset + data length exceeds 2^53 - 1');
      return { type, from, to, term, meta, offset, data, done };
    }
    case 'snapshotResponse':
      return {
        type,
        from,
        to,
        term,
        snapshotIndex: r.varint(f('snapshotIndex')),
        nextOffset: r.varint(f('nextOffset')),
        done: r.bool(f('done')),
      };
    case 'timeoutNow':
      return { type, from, to, term };
    case 'readIndex':
      return { type, from, to, term, readId: r.string(f('readId')) };
    case 'readIndexResponse':
      return { type, from, to, term, readId: r.string(f('readId')), index: r.varint(f('index')) };
    case 'propose':
      return { type, from, to, term, data: r.byteString(f('data')) };
    case 'leaseRenew':
      return { type, from, to, term, renewId: r.string(f('renewId')), lease: r.varint(f('lease')) };
    case 'leaseRenewResponse':
      return { type, from, to, term, renewId: r.string(f('renewId')), ttl: r.varint(f('ttl')) };
    default:
      return unreachable(type, 'message type');
  }
}

function readEntry(r: ByteReader, field: string): Entry {
  const term = r.varint(`${field}.term`);
  const index = r.positiveVarint(`${field}.index`);
  const kindTag = r.u8(`${field}.kind`);
  const kind = entryKinds[kindTag];
  if (kind === undefined) throw new MessageDecodeError(`${field}.kind`, `unknown entry kind ${kindTag}`);
  const data = r.byteString(`${field}.data`);
  if (kind === 'config') {
    try {
      decodeConfigEntry(data);
    } catch (error) {
      throw new MessageDecodeError(`${field}.data`, `not a valid config entry (${(error as Error).message})`);
    }
  }
  return { term, index, kind, data };
}

function readMeta(r: ByteReader, field: string): SnapshotMeta {
  const index = r.varint(`${field}.index`);
  const term = r.varint(`${field}.term`);
  const config = readConfig(r, `${field}.config`);
  return { index, term, config };
}

function readConfig(r: ByteReader, field: string): ClusterConfig {
  const seen = new Set<number>();
  const readIds = (name: string): number[] => {
    const count = r.count(`${field}.${name}.length`, 1);
    const ids: number[] = [];
    for (let i = 0; i < count; i++) {
      const id = r.positiveVarint(`${field}.${name}[${i}]`);
      if (seen.has(id)) throw new MessageDecodeError(`${field}.${name}[${i}]`, `node ${id} is listed twice`);
      seen.add(id);
      ids.push(id);
    }
    return ids;
  };
  const voters = readIds('voters');
  const learners = readIds('learners');
  return { voters, learners };
}
