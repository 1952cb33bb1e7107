/**
 * Helpers every folder may use: assertions, a seeded PRNG and the one byte codec.
 * This file is what other folders may use of it (scripts/check-imports.mjs).
 */
export { AssertionError, assert, unreachable } from './assert.js';
export { ByteReader, ByteWriter, DecodeError, readVarintAt, varintBytesMax, varintProblemText, varintSize, writeVarintAt } from './bytes/index.js';
export { inBatches } from './in-batches.js';
export { Prng } from './prng.js';
