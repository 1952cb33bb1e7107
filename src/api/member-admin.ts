/**
 * One way to run a membership change from any interface (REST, gRPC, the gateway):
 * on the leader, through the node; on any other node, forwarded to the leader's REST
 * API (as etcd's members forward membership requests to the leader), with the
 * leader's error mapped back to the same KeelError it would have thrown here.
 */
import type { Member } from '../kv/index.js';
import type { MembershipNode } from '../server/index.js';
import { type MemberAddRequest, type MembershipResult, KeelError, type KeelErrorCode } from '../replica/index.js';
import { isKeelErrorCode } from './errors.js';

export type MemberOp =
  | { readonly kind: 'add'; readonly request: MemberAddRequest }
  | { readonly kind: 'remove'; readonly id: number }
  | { readonly kind: 'promote'; readonly id: number }
  | { readonly kind: 'update'; readonly id: number; readonly peerUrls: readonly string[] };

/** Marks a request one node forwarded to another, so it is never forwarded twice. */
export const forwardedHeader = 'x-keel-forwarded';
const forwardTimeoutMs = 15_000;

export async function runMemberOp(node: MembershipNode, op: MemberOp, forwarded: boolean): Promise<MembershipResult> {
  const { role, leader } = node.status();
  if (role === 'leader' || leader === 0 || forwarded) return runHere(node, op);
  return forward(node, op, leader);
}

function runHere(node: MembershipNode, op: MemberOp): Promise<MembershipResult> {
  switch (op.kind) {
    case 'add':
      return node.addMember(op.request);
    case 'remove':
      return node.removeMember(op.id);
    case 'promote':
      return node.promoteMember(op.id);
    case 'update':
      return node.updateMember(op.id, op.peerUrls);
  }
}

function restRequest(op: MemberOp): { method: string; path: string; body?: object } {
  switch (op.kind) {
    case 'add':
      return { method: 'POST', path: '/members', body: op.request };
    case 'remove':
      return { method: 'DELETE', path: `/members/${op.id}` };
    case 'promote':
      return { method: 'POST', path: `/members/${op.id}/promote` };
    case 'update':
      return { method: 'PUT', path: `/members/${op.id}`, body: { peerUrls: op.peerUrls } };
  }
}

async function forward(node: MembershipNode, op: MemberOp, leader: number): Promise<MembershipResult> {
  const url = node.memberList().members.find((m) => m.id === leader)?.clientUrls[0];
  if (!url) throw new KeelError('NOT_LEADER', `the leader is node ${leader}, whose client URL is not known here; ask it directly`);
  const { method, path, body } = restRequest(op);
  let response: Response;
  let json: { member?: Member; members?: Member[]; error?: { code?: string; message?: string; outcome?: string } };
  try {
    response = await node.memberFetch(url + path, {
      method,
      headers: { [forwardedHeader]: String(node.config.id), ...(body ? { 'content-type': 'application/json' } : {}) },
      ...(body ? { body: JSON.stringify(body) } : {}),
      signal: AbortSignal.timeout(forwardTimeoutMs),
    });
    json = (await response.json()) as typeof json;
  } catch (error) {
    throw new KeelError('LEADER_CHANGED', `could not reach the leader (node ${leader} at ${url}): ${(error as Error).message}; retry`, 'unknown');
  }
  if (response.ok && json.member && json.members) return { member: json.member, members: json.members };
  const answered = json.error?.code ?? '';
  const code: KeelErrorCode = isKeelErrorCode(answered) ? answered : 'BAD_REQUEST';
  throw new KeelError(code, json.error?.message ?? `the leader answered ${response.status}`, json.error?.outcome === 'unknown' ? 'unknown' : 'not-applied');
}
