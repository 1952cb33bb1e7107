/**
 * etcd's Election service (v3electionpb.Election): Campaign, Proclaim, Leader, Resign,
 * and Observe, a stream of the leader's key each time it changes. The recipe is
 * server/concurrency/election.ts; a Campaign whose client goes away resigns.
 */
import { type KeyValueNode, type Caller, CallerKv, campaign, currentLeader, observe, proclaim, resign, type LeaderKey } from '../../server/index.js';
import type { KeyValue } from '../../kv/index.js';
import { keyValueMessage, type Message } from './convert.js';
import { toGrpcError } from './errors.js';
import { responseHeader } from './header.js';
import { leaseIdField } from './int64.js';
import { bytesField, leaderKeyField, leaderKeyNeed, leaderReadNeed, placeNeed } from './recipe-requests.js';
import type { EtcdService } from './service.js';
import type { ServerCall } from './server-call.js';

export function electionService(node: KeyValueNode): EtcdService {
  const header = (revision: number): Message => ({ ...responseHeader(node, revision) });
  return {
    name: 'Election',
    package: 'v3electionpb',
    unary: {
      Campaign: {
        need: (request) => placeNeed(node, bytesField(request.name), leaseIdField(request.lease), bytesField(request.value)),
        gatewayPaths: ['/v3/election/campaign'],
        handle: async (request, caller, gone) => {
          const kv = new CallerKv(node, caller);
          const won = await campaign(kv, bytesField(request.name), leaseIdField(request.lease), bytesField(request.value), gone());
          return { header: header(won.revision), leader: leaderKeyMessage(won.leader) };
        },
      },
      Proclaim: {
        need: (request) => leaderKeyNeed(node, leaderKeyField(request.leader)),
        gatewayPaths: ['/v3/election/proclaim'],
        handle: async (request, caller) => {
          const revision = await proclaim(new CallerKv(node, caller), leaderKeyField(request.leader), bytesField(request.value));
          return { header: header(revision) };
        },
      },
      Leader: {
        need: (request) => leaderReadNeed(node, bytesField(request.name)),
        gatewayPaths: ['/v3/election/leader'],
        handle: async (request, caller) => {
          const leader = await currentLeader(new CallerKv(node, caller), bytesField(request.name));
          return leaderResponse(node, leader.kv, leader.revision);
        },
      },
      Resign: {
        need: (request) => leaderKeyNeed(node, leaderKeyField(request.leader)),
        gatewayPaths: ['/v3/election/resign'],
        handle: async (request, caller) => {
          const revision = await resign(new CallerKv(node, caller), leaderKeyField(request.leader));
          return { header: header(revision) };
        },
      },
    },
    streaming: { Observe: (call) => serveObserve(node, call) },
  };
}

/** etcd's LeaderResponse: the leader's key as it was at `revision`. */
export function leaderResponse(node: KeyValueNode, kv: KeyValue, revision: number): Message {
  return { header: { ...responseHeader(node, revision) }, kv: keyValueMessage(kv) };
}

function leaderKeyMessage(leader: LeaderKey): Message {
  return { name: leader.name, key: leader.key, rev: leader.rev, lease: leader.lease };
}

/**
 * Observe for one caller: `send` delivers each LeaderResponse and resolves when the
 * transport can take more. Resolves never; rejects when `signal` aborts or the
 * observation fails. Shared by gRPC and the gateway.
 */
export async function runObserve(
  node: KeyValueNode,
  caller: Caller | undefined,
  request: Message,
  send: (response: Message) => Promise<void>,
  signal: AbortSignal,
): Promise<never> {
  return observe(new CallerKv(node, caller), bytesField(request.name), (kv, revision) => send(leaderResponse(node, kv, revision)), signal);
}

function serveObserve(node: KeyValueNode, call: ServerCall): void {
  const gone = call.cancelSignal();
  const send = async (response: Message): Promise<void> => {
    if (!call.write(response)) await call.drained();
  };
  const serve = async (): Promise<never> => {
    const caller = await node.auth.authorize(call.credentials(), leaderReadNeed(node, bytesField(call.request.name)));
    return runObserve(node, caller, call.request, send, gone);
  };
  serve().catch((error: unknown) => {
    if (!gone.aborted) call.fail(toGrpcError(error));
  });
}
