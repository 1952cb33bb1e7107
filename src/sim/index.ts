/**
 * The deterministic simulator, which drives the production replica on simulated ports; its options, for `keel sim`.
 * This file is what other folders may use of it (scripts/check-imports.mjs).
 */
export { defaultSimOptions } from './options.js';
export type { SimOptions } from './options.js';
