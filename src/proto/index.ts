/** What other folders may use of src/proto/: its only entry point (scripts/check-imports.mjs). */
export { etcdPackageDefinition, etcdProtoRoot, objectOptions } from './etcd-proto.js';
