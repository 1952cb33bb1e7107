/**
 * Real `keel` processes for tests, benchmarks and `keel chaos`: clusters, free ports, waiting with a deadline, member changes.
 * This file is what other folders may use of it (scripts/check-imports.mjs).
 */
export { Cluster } from './cluster-harness.js';
export { freeBasePort, freePorts, portRangeFrom } from './free-ports.js';
export type { PortRange } from './free-ports.js';
export { HttpUnreachable, describe, http } from './http.js';
export type { HttpAnswer, HttpOptions } from './http.js';
export { addMember, removeMember } from './member-changes.js';
export { requireExecutable, requireTool } from './required-tool.js';
export { pause, waitFor } from './wait-for.js';
