/**
 * etcd's v3 API descriptions, loaded from proto/ for the gRPC server and clients.
 * This file is what other folders may use of it (scripts/check-imports.mjs).
 */
export { etcdPackageDefinition, etcdProtoRoot, objectOptions } from './etcd-proto.js';
