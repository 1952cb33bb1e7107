/**
 * The cluster's member metadata, replicated through the log and kept in the store (so
 * a snapshot carries it): each member's id, name, peer URL and client URLs, whether it
 * is a learner, and the ids removed for good (etcd refuses to reuse them: a removed
 * node restarted with its old data must not come back under the same id).
 *
 * The Raft configuration (who votes) lives in the consensus core; this is what the
 * core does not need but every node and client does: where each member listens. It
 * changes by MemberChange commands, applied in log order on every replica, so every
 * node — one restarted, or restored from a snapshot — holds the same list. As in etcd,
 * a change to the Raft configuration carries its metadata in the same log entry (the
 * config entry's context), so the two never disagree.
 */
import { DecodeError } from '../lib/index.js';

export interface Member {
  readonly id: number;
  /** Empty until the member has started and published it (etcd shows such a member as unstarted). */
  readonly name: string;
  /** Where peers reach its Raft transport, as `http://host:port`. */
  readonly peerUrls: readonly string[];
  /** Its REST API, `http://host:port`; empty until published. */
  readonly clientUrls: readonly string[];
  /** Its etcd v3 gRPC API, `http://host:port`; empty until published. */
  readonly grpcUrls: readonly string[];
  readonly isLearner: boolean;
}

export interface MemberList {
  readonly members: readonly Member[];
  /** Ids removed from the cluster; never given out again. */
  readonly removed: readonly number[];
}

export type MemberChange =
  /** The bootstrap members (not in the log, which starts with them): set once, by the first leader that changes membership. */
  | { readonly op: 'init'; readonly members: readonly Member[] }
  | { readonly op: 'add'; readonly member: Member }
  | { readonly op: 'promote'; readonly id: number }
  | { readonly op: 'remove'; readonly id: number }
  | { readonly op: 'update'; readonly id: number; readonly peerUrls: readonly string[] }
  /** A member announces its own name and client URLs once it runs (etcd's publish). */
  | { readonly op: 'publish'; readonly id: number; readonly name: string; readonly clientUrls: readonly string[]; readonly grpcUrls: readonly string[] };

export type MemberChangeResult = { readonly ok: true; readonly list: MemberList } | { readonly ok: false; readonly message: string };

/** The list after `change`; `list` is undefined before the bootstrap members were written. */
export function applyMemberChange(list: MemberList | undefined, change: MemberChange): MemberChangeResult {
  if (change.op === 'init') {
    // Idempotent: a second init (two leaders racing to bootstrap the list) changes nothing.
    return { ok: true, list: list ?? { members: sortById(change.members), removed: [] } };
  }
  if (!list) return { ok: false, message: `member ${change.op}: the member list was never initialized` };
  const id = change.op === 'add' ? change.member.id : change.id;
  const existing = list.members.find((m) => m.id === id);
  const others = (id: number): Member[] => list.members.filter((m) => m.id !== id);
  switch (change.op) {
    case 'add':
      if (existing) return { ok: false, message: `member ${change.member.id} already exists` };
      if (list.removed.includes(change.member.id)) return { ok: false, message: `member id ${change.member.id} was removed` };
      return { ok: true, list: { members: sortById([...list.members, change.member]), removed: list.removed } };
    case 'promote':
      if (!existing) return { ok: false, message: `member ${change.id} not found` };
      return { ok: true, list: { members: sortById([...others(change.id), { ...existing, isLearner: false }]), removed: list.removed } };
    case 'remove':
      if (!existing) return { ok: false, message: `member ${change.id} not found` };
      return { ok: true, list: { members: others(change.id), removed: [...list.removed, change.id].sort((a, b) => a - b) } };
    case 'update':
      if (!existing) return { ok: false, message: `member ${change.id} not found` };
      return { ok: true, list: { members: sortById([...others(change.id), { ...existing, peerUrls: change.peerUrls }]), removed: list.removed } };
    case 'publish': {
      if (!existing) return { ok: false, message: `member ${change.id} not found` };
      const published = { ...existing, name: change.name, clientUrls: change.clientUrls, grpcUrls: change.grpcUrls };
      return { ok: true, list: { members: sortById([...others(change.id), published]), removed: list.removed } };
    }
  }
}

function sortById(members: readonly Member[]): Member[] {
  return [...members].sort((a, b) => a.id - b.id);
}

// JSON is fine here: membership changes are rare and small, and the decoder below
// checks every field, so a replica never applies a shape it does not understand.

export function encodeMemberChange(change: MemberChange): Uint8Array {
  return new TextEncoder().encode(JSON.stringify(change));
}

/** Throws DecodeError naming the problem. */
export function decodeMemberChange(data: Uint8Array): MemberChange {
  const value = parseJson(data, 'member change');
  const op = field(value, 'op');
  switch (op) {
    case 'init': {
      const members = field(value, 'members');
      if (!Array.isArray(members)) throw new DecodeError('member init: members is not a list');
      return { op, members: members.map(toMember) };
    }
    case 'add':
      return { op, member: toMember(field(value, 'member')) };
    case 'promote':
    case 'remove':
      return { op, id: toId(field(value, 'id')) };
    case 'update':
      return { op, id: toId(field(value, 'id')), peerUrls: toUrls(field(value, 'peerUrls')) };
    case 'publish':
      return {
        op,
        id: toId(field(value, 'id')),
        name: toName(field(value, 'name')),
        clientUrls: toUrls(field(value, 'clientUrls')),
        grpcUrls: toUrls(field(value, 'grpcUrls')),
      };
    default:
      throw new DecodeError(`member change has unknown op ${JSON.stringify(op)}`);
  }
}

export function encodeMemberList(list: MemberList): Uint8Array {
  return new TextEncoder().encode(JSON.stringify(list));
}

export function decodeMemberList(data: Uint8Array): MemberList {
  const value = parseJson(data, 'member list');
  const members = field(value, 'members');
  const removed = field(value, 'removed');
  if (!Array.isArray(members) || !Array.isArray(removed)) throw new DecodeError('member list: members and removed must be lists');
  return { members: members.map(toMember), removed: removed.map(toId) };
}

function parseJson(data: Uint8Array, what: string): object {
  let value: unknown;
  try {
    value = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(data));
  } catch (error) {
    throw new DecodeError(`${what} is not JSON: ${(error as Error).message}`);
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new DecodeError(`${what} is not a JSON object`);
  return value;
}

function field(value: object, name: string): unknown {
  return (value as Record<string, unknown>)[name];
}

function toMember(value: unknown): Member {
  if (typeof value !== 'object' || value === null) throw new DecodeError('member is not an object');
  const isLearner = field(value, 'isLearner');
  if (typeof isLearner !== 'boolean') throw new DecodeError('member isLearner is not a boolean');
  return {
    id: toId(field(value, 'id')),
    name: toName(field(value, 'name')),
    peerUrls: toUrls(field(value, 'peerUrls')),
    clientUrls: toUrls(field(value, 'clientUrls')),
    grpcUrls: toUrls(field(value, 'grpcUrls')),
    isLearner,
  };
}

function toId(value: unknown): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 1)
    throw new DecodeError(`member id ${JSON.stringify(value)} is not a positive integer`);
  return value;
}

function toName(value: unknown): string {
  if (typeof value !== 'string') throw new DecodeError('member name is not a string');
  return value;
}

function toUrls(value: unknown): string[] {
  if (!Array.isArray(value) || !value.every((url) => typeof url === 'string')) throw new DecodeError('member URLs are not a list of strings');
  return value as string[];
}
