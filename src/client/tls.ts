/** The client's TLS settings and the fetch that applies them (shared with the node: tls/https-fetch.ts). */
export { fetchWithTls } from '../tls/https-fetch.js';
export type { ClientTlsOptions, FetchFunction } from '../tls/https-fetch.js';
