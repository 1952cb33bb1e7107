/**
 * What a gRPC call brings to prove who sent it: the `token` metadata etcd's clients
 * send after Authenticate (or `authorization`, with or without "Bearer ", as etcd also
 * reads), and the common name of a verified client certificate (server/auth/caller.ts
 * decides what wins).
 */
import type { Metadata } from '@grpc/grpc-js';
import type { Credentials } from '../../server/index.js';
import { commonNameOfGrpcCall } from '../client-certificate.js';
import type { GrpcCallWithAuthContext } from '../client-certificate.js';

export function grpcCredentials(call: { readonly metadata: Metadata } & Partial<GrpcCallWithAuthContext>): Credentials {
  const commonName = call.getAuthContext ? commonNameOfGrpcCall(call as GrpcCallWithAuthContext) : undefined;
  const withName: Credentials = commonName === undefined ? {} : { certificateCommonName: commonName };
  const value = call.metadata.get('token')[0] ?? call.metadata.get('authorization')[0];
  if (value === undefined) return withName;
  const token = (typeof value === 'string' ? value : value.toString('utf8')).replace(/^Bearer /, '');
  return { ...withName, token };
}
