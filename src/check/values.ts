/**
 * Values as the search sees them. Each distinct JSON value of a key's history gets a
 * small integer id, equal values (compared structurally: object key order does not
 * matter) the same id. Model states are then plain integers, which makes a step a
 * comparison and lets the search hash states for its memo for free.
 */

/** The id of null, which is also the initial value of every key (absent). */
export const NULL_VALUE = 0;

/** A JSON text that is the same for structurally equal values: object keys sorted. */
export function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (typeof value === 'object' && value !== null) {
    const record = value as Record<string, unknown>;
    const fields = Object.keys(record)
      .filter((name) => record[name] !== undefined)
      .sort()
      .map((name) => `${JSON.stringify(name)}:${canonicalJson(record[name])}`);
    return `{${fields.join(',')}}`;
  }
  const text = JSON.stringify(value) as string | undefined;
  if (text === undefined) throw new TypeError(`not a JSON value: ${String(value)}`);
  return text;
}

/** Interns values: the same id for structurally equal values, NULL_VALUE for null. */
export class ValueTable {
  private readonly ids = new Map<string, number>([['null', NULL_VALUE]]);
  private readonly values: unknown[] = [null];

  idOf(value: unknown): number {
    const text = canonicalJson(value);
    let id = this.ids.get(text);
    if (id === undefined) {
      id = this.values.length;
      this.ids.set(text, id);
      this.values.push(value);
    }
    return id;
  }

  /** How many distinct values there are, null included; ids run from 0 to size - 1. */
  get size(): number {
    return this.values.length;
  }

  valueOf(id: number): unknown {
    if (id < 0 || id >= this.values.length) throw new RangeError(`no value with id ${id}`);
    return this.values[id];
  }
}
