/** Keel's one byte codec: see byte-writer.ts and byte-reader.ts. */
export { ByteReader, type DecodeFailure } from './byte-reader.js';
export { ByteWriter } from './byte-writer.js';
export { DecodeError } from './decode-error.js';
export { readVarintAt, VarintProblem, varintBytesMax, varintProblemText, varintSize, writeVarintAt } from './varint.js';
