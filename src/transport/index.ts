/** What other folders may use of src/transport/: its only entry point (scripts/check-imports.mjs). */
export { FaultRulesError } from './fault-hooks.js';
export type { FaultHooks, FaultRule } from './fault-hooks.js';
export { Transport, clusterSecretBytes } from './transport.js';
export type { PeerTlsOptions } from './transport.js';
