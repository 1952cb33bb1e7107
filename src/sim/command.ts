import { assert } from '../lib/assert.js';

/**
 * The commands of the simulator's state machine, encoded as JSON bytes in 'normal'
 * log entries. Every command carries the client's process and sequence number (thesis
 * §6.3: the state machine applies each (process, seq) once, so a proposal the network
 * duplicated does not apply twice) and a request id the receiving node waits for.
 */
export type Command =
  | { readonly op: 'put'; readonly id: string; readonly process: number; readonly seq: number; readonly key: string; readonly value: number }
  | { readonly op: 'delete'; readonly id: string; readonly process: number; readonly seq: number; readonly key: string }
  | { readonly op: 'cas'; readonly id: string; readonly process: number; readonly seq: number; readonly key: string; readonly expected: number; readonly value: number }
  /** A probe with no effect on the data, proposed by the liveness phase and the churn
   * schedule (each with a process of its own, so their sequence numbers never meet). */
  | { readonly op: 'mark'; readonly id: string; readonly process: number; readonly seq: number };

const encoder = new TextEncoder();
const decoder = new TextDecoder();

export function encodeCommand(command: Command): Uint8Array {
  return encoder.encode(JSON.stringify(command));
}

export function decodeCommand(data: Uint8Array): Command {
  const value: unknown = JSON.parse(decoder.decode(data));
  assert(isCommand(value), () => `not a simulator command: ${decoder.decode(data)}`);
  return value;
}

function isCommand(value: unknown): value is Command {
  if (typeof value !== 'object' || value === null) return false;
  const v = value as Record<string, unknown>;
  if (typeof v['id'] !== 'string' || typeof v['process'] !== 'number' || typeof v['seq'] !== 'number') return false;
  switch (v['op']) {
    case 'put':
      return typeof v['key'] === 'string' && typeof v['value'] === 'number';
    case 'delete':
      return typeof v['key'] === 'string';
    case 'cas':
      return typeof v['key'] === 'string' && typeof v['expected'] === 'number' && typeof v['value'] === 'number';
    case 'mark':
      return true;
    default:
      return false;
  }
}
