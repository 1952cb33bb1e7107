/**
 * The etcd v3 API's protobuf definitions (our own files in proto/, same packages,
 * messages and field numbers as etcd's), loaded once for the gRPC server and for the
 * JSON gateway, which both hand handlers the same plain objects:
 *   - int64/uint64 fields arrive as decimal strings (ids and revisions are parsed and
 *     range-checked by int64.ts, never silently rounded);
 *   - bytes arrive as Buffers; enums as their names; oneofs name their set field;
 *   - absent fields arrive at their defaults, as in proto3.
 */
import { fileURLToPath } from 'node:url';
import { loadSync } from '@grpc/proto-loader';
import type { Options, PackageDefinition } from '@grpc/proto-loader';
import protobuf from 'protobufjs';

export const protoDir = fileURLToPath(new URL('../../proto/', import.meta.url));
/** etcd's KV, Watch, Lease, Cluster, Maintenance and Auth services, and its Lock and Election services. */
const protoFiles = ['etcdserverpb/rpc.proto', 'v3lockpb/v3lock.proto', 'v3electionpb/v3election.proto'];

/** How decoded messages look to handlers, for gRPC and the gateway alike. */
export const objectOptions = { keepCase: true, longs: String, enums: String, bytes: Buffer, defaults: true, oneofs: true } as const;

let definition: PackageDefinition | undefined;
let root: protobuf.Root | undefined;

export function etcdPackageDefinition(): PackageDefinition {
  definition ??= loadSync(protoFiles, { ...objectOptions, includeDirs: [protoDir] } satisfies Options);
  return definition;
}

/** The same definitions as protobufjs types, for the JSON gateway's conversions. */
export function etcdProtoRoot(): protobuf.Root {
  if (!root) {
    const loaded = new protobuf.Root();
    loaded.resolvePath = (_origin, target) => (target.startsWith(protoDir) ? target : protoDir + target);
    loaded.loadSync(protoFiles, { keepCase: true });
    loaded.resolveAll();
    root = loaded;
  }
  return root;
}
