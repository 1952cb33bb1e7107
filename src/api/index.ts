/** What other folders may use of src/api/: its only entry point (scripts/check-imports.mjs). */
export { startClientApi } from './client-api.js';
export type { ClientTls } from './client-tls.js';
