/**
 * Text the client commands print: aligned tables, one-line values, records as the
 * REST API's JSON (text fields when UTF-8, *Base64 fields otherwise), error lines.
 */
import { bytesField, KeelClientError, type GetResult, type KeyValueRecord } from '../client/index.js';
import { exitCodes } from './cli-io.js';

/** Columns padded to their widest cell; `right` columns (numbers) are right-aligned. */
export function table(header: readonly string[], rows: ReadonlyArray<readonly string[]>, right: ReadonlySet<number> = new Set()): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: readonly string[]): string =>
    cells
      .map((cell, i) => (right.has(i) ? cell.padStart(widths[i]!) : cell.padEnd(widths[i]!)))
      .join('  ')
      .trimEnd();
  return `${[line(header), ...rows.map(line)].join('\n')}\n`;
}

/** The API's JSON shape of a record. */
export function recordJson(kv: KeyValueRecord): Record<string, unknown> {
  return {
    ...bytesField('key', kv.keyBytes),
    ...bytesField('value', kv.valueBytes),
    createRevision: kv.createRevision,
    modRevision: kv.modRevision,
    version: kv.version,
    lease: kv.lease,
  };
}

export function getJson(result: GetResult): Record<string, unknown> {
  return { ...recordJson(result), revision: result.revision };
}

/** Text on one line: control characters, backslash and non-UTF-8 bytes escaped. */
export function oneLine(bytes: Uint8Array): string {
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    return [...bytes].map((b) => (b >= 0x20 && b < 0x7f && b !== 0x5c ? String.fromCharCode(b) : `\\x${b.toString(16).padStart(2, '0')}`)).join('');
  }
  return text.replace(/[\u0000-\u001f\u007f\\]/g, (c) => {
    switch (c) {
      case '\n':
        return '\\n';
      case '\t':
        return '\\t';
      case '\r':
        return '\\r';
      case '\\':
        return '\\\\';
      default:
        return `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`;
    }
  });
}

/** The exit code and message for an error a command met. */
export function describeError(error: unknown): { readonly code: number; readonly message: string } {
  if (error instanceof KeelClientError) {
    const unknown = error.outcome === 'unknown';
    const hint = unknown ? ' (the write may or may not have been applied)' : '';
    const text = error.message.includes(error.code) ? error.message : `${error.code}: ${error.message}`;
    return { code: unknown ? exitCodes.outcomeUnknown : exitCodes.failed, message: `${text}${hint}` };
  }
  if (error instanceof RangeError) return { code: exitCodes.usage, message: error.message };
  return { code: exitCodes.failed, message: error instanceof Error ? error.message : String(error) };
}
