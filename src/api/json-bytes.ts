/**
 * Keys and values are bytes; JSON carries them as text when they are valid UTF-8
 * (the common case, readable with curl) and as base64 otherwise, under a field name
 * that says so (`value` or `valueBase64`), so no client has to guess.
 */
import type { KeyValue } from '../kv/index.js';
import type { BytesJson, KeyValueJson } from '../wire/index.js';

const strictUtf8 = new TextDecoder('utf-8', { fatal: true });

export function bytesField<N extends string>(name: N, bytes: Uint8Array): BytesJson<N> {
  try {
    return { [name]: strictUtf8.decode(bytes) } as BytesJson<N>;
  } catch {
    return { [`${name}Base64`]: Buffer.from(bytes).toString('base64') } as BytesJson<N>;
  }
}

export function keyValueJson(kv: KeyValue, keysOnly = false): KeyValueJson {
  return {
    ...bytesField('key', kv.key),
    ...(keysOnly ? {} : bytesField('value', kv.value)),
    createRevision: kv.createRevision,
    modRevision: kv.modRevision,
    version: kv.version,
    lease: kv.lease,
  };
}

export const utf8 = (text: string): Uint8Array => new TextEncoder().encode(text);

/** `name` as text, or `${name}Base64` as base64 for bytes that are not UTF-8 (as in answers). */
export function bytesOf(fields: Record<string, unknown>, name: string, where: string): Uint8Array | string {
  const text = fields[name];
  const base64 = fields[`${name}Base64`];
  if (typeof text === 'string' && base64 === undefined) return utf8(text);
  if (typeof base64 === 'string' && text === undefined && /^[A-Za-z0-9+/]*={0,2}$/.test(base64) && base64.length % 4 === 0) {
    return new Uint8Array(Buffer.from(base64, 'base64'));
  }
  return `${where} needs exactly one of ${name} (a string) or ${name}Base64 (base64)`;
}
