/** What other folders may use of src/wire/: its only entry point (scripts/check-imports.mjs). */
export type { HelloFrame, MessageSummary, StatusFrame } from './dashboard-feed.js';
export type { NodeStatusJson, RoleName } from './status.js';
