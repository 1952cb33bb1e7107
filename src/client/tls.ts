/** The client's TLS settings and the fetch that applies them (shared with the node: tls/https-fetch.ts). */
export { fetchWithTls, type ClientTlsOptions, type FetchFunction } from '../tls/index.js';
