/**
 * The client port: the REST API, etcd's v3 gRPC API and its JSON gateway, metrics and the dashboard feed, served for one node.
 * This file is what other folders may use of it (scripts/check-imports.mjs).
 */
export { startClientApi } from './client-api.js';
export type { ClientTls } from './client-tls.js';
