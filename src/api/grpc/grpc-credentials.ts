/**
 * What a gRPC call brings to prove who sent it: the `token` metadata etcd's clients
 * send after Authenticate (or `authorization`, with or without "Bearer ", as etcd also
 * reads). A client certificate's common name joins here once the gRPC server speaks TLS
 * (server/auth/caller.ts decides what wins).
 */
import type { Metadata } from '@grpc/grpc-js';
import type { Credentials } from '../../server/auth/caller.js';

export function grpcCredentials(call: { readonly metadata: Metadata }): Credentials {
  const value = call.metadata.get('token')[0] ?? call.metadata.get('authorization')[0];
  if (value === undefined) return {};
  const token = (typeof value === 'string' ? value : value.toString('utf8')).replace(/^Bearer /, '');
  return { token };
}
