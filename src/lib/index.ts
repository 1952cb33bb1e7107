/** What other folders may use of src/lib/: its only entry point (scripts/check-imports.mjs). */
export { AssertionError, assert, unreachable } from './assert.js';
export { ByteReader, ByteWriter, DecodeError, readVarintAt, varintBytesMax, varintProblemText, varintSize } from './bytes/index.js';
export { Prng } from './prng.js';
