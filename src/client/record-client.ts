/**
 * Records with named fields (the /records routes): a record is a key holding fields
 * that can be set and read one at a time, or read, replaced and deleted whole. Every
 * write is atomic on the server (one transaction) and exactly-once from here (a
 * session, as for every write of KeelClient).
 *
 * Record keys and field names are text. Field names: letters, digits, '_', '-', '.',
 * at most 128 bytes. Field values are text or bytes; bytes that are not UTF-8 can be
 * set only one field at a time (setField), since a record travels as JSON text.
 */
import type { RevisionJson } from '../wire/index.js';
import { percentEncode, toBytes, utf8OrUndefined } from './bytes.js';
import type { Bytes } from './bytes.js';
import { deleteResult, fieldResult, integer, object, recordResult } from './decode.js';
import { invalidArgument } from './errors.js';
import { errorCode } from './http.js';
import type { CallOptions, KeelClient } from './keel-client.js';
import { sessionHeaders } from './session.js';
import type { Consistency, DeleteResult, FieldResult, PutResult, RecordResult } from './types.js';

export interface RecordReadOptions extends CallOptions {
  readonly consistency?: Consistency;
  /** Read the record as it was at this revision. */
  readonly revision?: number;
}

export class KeelRecords {
  constructor(private readonly client: KeelClient) {}

  /** Sets the given fields and removes those given null; the other fields stay. */
  async set(key: string, fields: Readonly<Record<string, Bytes | null>>, options: CallOptions = {}): Promise<PutResult> {
    return this.writeFields('PATCH', key, fields, options);
  }

  /** Makes the record hold exactly these fields (none: the record is deleted). */
  async replace(key: string, fields: Readonly<Record<string, Bytes>>, options: CallOptions = {}): Promise<PutResult> {
    return this.writeFields('PUT', key, fields, options);
  }

  async setField(key: string, field: string, value: Bytes, options: CallOptions = {}): Promise<PutResult> {
    return this.write('PUT', fieldPath(key, field), { 'content-type': 'application/octet-stream' }, toBytes(value), options);
  }

  /** The whole record, or undefined when it has no fields. */
  async get(key: string, options: RecordReadOptions = {}): Promise<RecordResult | undefined> {
    return this.read(recordPath(key), 'RECORD_NOT_FOUND', recordResult, options);
  }

  /** One field, or undefined when the record does not have it. */
  async getField(key: string, field: string, options: RecordReadOptions = {}): Promise<FieldResult | undefined> {
    return this.read(fieldPath(key, field), 'FIELD_NOT_FOUND', fieldResult, options);
  }

  /** Deletes the record; `deleted` counts its fields. */
  async delete(key: string, options: CallOptions = {}): Promise<DeleteResult> {
    return this.remove(recordPath(key), options);
  }

  async deleteField(key: string, field: string, options: CallOptions = {}): Promise<DeleteResult> {
    return this.remove(fieldPath(key, field), options);
  }

  private writeFields(method: 'PUT' | 'PATCH', key: string, fields: Readonly<Record<string, Bytes | null>>, options: CallOptions): Promise<PutResult> {
    const json: Record<string, string | null> = {};
    for (const [name, value] of Object.entries(fields)) {
      const text = value === null || typeof value === 'string' ? value : utf8OrUndefined(value);
      if (text === undefined) throw invalidArgument(`field ${JSON.stringify(name)} is not UTF-8 text; set it alone with setField`);
      json[name] = text;
    }
    return this.write(method, recordPath(key), { 'content-type': 'application/json' }, JSON.stringify({ fields: json }), options);
  }

  private write(method: 'PUT' | 'PATCH', path: string, headers: Record<string, string>, body: string | Uint8Array, options: CallOptions): Promise<PutResult> {
    return this.client.call<PutResult>(
      {
        write: true,
        build: (session) => ({ method, path, headers: { ...headers, ...sessionHeaders(session) }, body }),
        interpret: (r) =>
          r.status === 200 ? { ok: true, value: { revision: integer(object<RevisionJson>(r.json, 'answer'), 'revision', 'answer') } } : { ok: false },
      },
      options,
    );
  }

  private read<T>(path: string, missing: string, decode: (json: unknown) => T, options: RecordReadOptions): Promise<T | undefined> {
    const query = new URLSearchParams();
    if (options.consistency) query.set('consistency', options.consistency);
    if (options.revision !== undefined) query.set('rev', String(options.revision));
    const url = `${path}${query.size > 0 ? `?${query}` : ''}`;
    return this.client.call<T | undefined>(
      {
        write: false,
        build: () => ({ method: 'GET', path: url }),
        interpret: (r) => {
          if (r.status === 404 && errorCode(r) === missing) return { ok: true, value: undefined };
          return r.status === 200 ? { ok: true, value: decode(r.json) } : { ok: false };
        },
      },
      options,
    );
  }

  private remove(path: string, options: CallOptions): Promise<DeleteResult> {
    return this.client.call<DeleteResult>(
      {
        write: true,
        build: (session) => ({ method: 'DELETE', path, headers: sessionHeaders(session) }),
        interpret: (r) => {
          if (r.status !== 200) return { ok: false };
          return { ok: true, value: deleteResult(r.json) };
        },
      },
      options,
    );
  }
}

function recordPath(key: string): string {
  if (key.length === 0) throw invalidArgument('the record key is empty');
  return `/records/${percentEncode(key)}`;
}

function fieldPath(key: string, field: string): string {
  if (field.length === 0) throw invalidArgument('the field name is empty');
  return `${recordPath(key)}/fields/${percentEncode(field)}`;
}
