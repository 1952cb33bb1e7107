/**
 * Keys and values are bytes. The API carries them as text when they are valid UTF-8
 * (`key`, `value`) and as base64 otherwise (`keyBase64`, `valueBase64`); in a URL they
 * are percent-encoded byte by byte, '/' included, so a key is always one path segment.
 */
const encoder = new TextEncoder();
const strictDecoder = new TextDecoder('utf-8', { fatal: true });
const lenientDecoder = new TextDecoder('utf-8');

export type Bytes = string | Uint8Array;

export function toBytes(data: Bytes): Uint8Array {
  return typeof data === 'string' ? encoder.encode(data) : data;
}

/** The text of `bytes` when they are valid UTF-8, else undefined. */
export function utf8OrUndefined(bytes: Uint8Array): string | undefined {
  try {
    return strictDecoder.decode(bytes);
  } catch {
    return undefined;
  }
}

/** Text for display: invalid UTF-8 sequences become U+FFFD. */
export function lenientText(bytes: Uint8Array): string {
  return lenientDecoder.decode(bytes);
}

export function base64(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('base64');
}

export function fromBase64(text: string): Uint8Array {
  return new Uint8Array(Buffer.from(text, 'base64'));
}

/** `{[name]: text}` when valid UTF-8, else `{[name + 'Base64']: base64}` — the API's convention. */
export function bytesField(name: string, data: Bytes): Record<string, string> {
  if (typeof data === 'string') return { [name]: data };
  const text = utf8OrUndefined(data);
  return text === undefined ? { [`${name}Base64`]: base64(data) } : { [name]: text };
}

/** Reads the field `name` or `name + 'Base64'` of a JSON object; undefined when neither is a string. */
export function readBytesField(json: Record<string, unknown>, name: string): Uint8Array | undefined {
  const text = json[name];
  if (typeof text === 'string') return encoder.encode(text);
  const encoded = json[`${name}Base64`];
  if (typeof encoded === 'string') return fromBase64(encoded);
  return undefined;
}

const unreserved = /[A-Za-z0-9\-_.~]/;

/**
 * Percent-encodes every byte but the unreserved characters. A string key is encoded
 * as its UTF-8 bytes (the same as encodeURIComponent); a byte key may hold any byte.
 */
export function percentEncode(data: Bytes): string {
  if (typeof data === 'string') return encodeURIComponent(data).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
  let out = '';
  for (const byte of data) {
    const char = String.fromCharCode(byte);
    out += byte < 0x80 && unreserved.test(char) ? char : `%${byte.toString(16).toUpperCase().padStart(2, '0')}`;
  }
  return out;
}

/**
 * Keys a URL path cannot carry faithfully: URL parsers resolve the segments '.' and
 * '..' (and their percent-encoded forms) before a request leaves, and the server's
 * router decodes the path as UTF-8, refusing other bytes. The client sends such keys
 * through /batch, where JSON carries them (as `keyBase64` when they are not UTF-8).
 */
export function needsBatchRoute(data: Bytes): boolean {
  const bytes = toBytes(data);
  if ((bytes.length === 1 && bytes[0] === 0x2e) || (bytes.length === 2 && bytes[0] === 0x2e && bytes[1] === 0x2e)) return true;
  return typeof data !== 'string' && utf8OrUndefined(data) === undefined;
}
