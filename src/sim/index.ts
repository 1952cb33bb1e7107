/** What other folders may use of src/sim/: its only entry point (scripts/check-imports.mjs). */
export { defaultSimOptions } from './options.js';
export type { SimOptions } from './options.js';
