/**
 * Admission control per client connection: the bytes of the writes one connection has
 * waiting at once are bounded, and a write past the bound is refused at once with
 * OVERLOADED (REST: 503 with Retry-After; gRPC: RESOURCE_EXHAUSTED "etcdserver: too
 * many requests"), before it is proposed and costs memory anywhere.
 *
 * The node's own bound (pendingWriteBytesMax, replica.ts) keeps the node's memory
 * flat; this one keeps it fair. gRPC multiplexes every call of a client over one
 * HTTP/2 connection, so without it a client flooding large puts would take the whole
 * node bound and every other client would be refused with it. The connection bound is
 * below the node's, so a flood leaves room for the others.
 *
 * A connection with nothing waiting is always let through one write, however large
 * (the request size limit bounds it), so that a bound below a legal request never
 * refuses that request forever: the same rule the node's bound and the leader's
 * uncommitted bound follow (thesis §10.2.1 on keeping the leader's memory bounded).
 */
import { KeelError } from '../replica/index.js';

export class ConnectionBudget {
  /** Bytes waiting per connection; a connection with none waiting has no entry. */
  private readonly waiting = new Map<string, number>();

  constructor(readonly bytesMax: number) {}

  /**
   * Counts `bytes` against `connection` (its remote address and port) and returns the
   * release to call once the write has its answer, whatever it is. Throws OVERLOADED
   * when the connection already has writes waiting and this one would pass the bound.
   */
  admit(connection: string, bytes: number): () => void {
    const waiting = this.waiting.get(connection) ?? 0;
    if (waiting > 0 && waiting + bytes > this.bytesMax) {
      throw new KeelError(
        'OVERLOADED',
        `this connection has ${waiting} bytes of writes waiting and this one adds ${bytes} (connectionWriteBytesMax ${this.bytesMax}); retry later`,
      );
    }
    this.waiting.set(connection, waiting + bytes);
    let released = false;
    return () => {
      if (released) return;
      released = true;
      const left = (this.waiting.get(connection) ?? 0) - bytes;
      if (left > 0) this.waiting.set(connection, left);
      else this.waiting.delete(connection);
    };
  }

  /** Runs `write` admitted against `connection`, releasing its bytes when it settles. */
  async run<T>(connection: string, bytes: number, write: () => Promise<T>): Promise<T> {
    const release = this.admit(connection, bytes);
    try {
      return await write();
    } finally {
      release();
    }
  }

  /** Bytes waiting on `connection` now (0 when none). */
  waitingBytes(connection: string): number {
    return this.waiting.get(connection) ?? 0;
  }

  /** Connections with writes waiting now. */
  connectionsWaiting(): number {
    return this.waiting.size;
  }
}

/** A connection's name in the budget: its remote address and port, as grpc-js names a call's peer. */
export function connectionName(socket: { readonly remoteAddress?: string | undefined; readonly remotePort?: number | undefined }): string {
  return `${socket.remoteAddress ?? 'unknown'}:${socket.remotePort ?? ''}`;
}

/**
 * The payload bytes of a decoded request (a gRPC message, or a command body): the sum
 * of its byte arrays and strings, at any depth. Counted the same for every interface,
 * so a put of a given key and value costs a connection the same over gRPC, the JSON
 * gateway and REST.
 */
export function payloadBytes(value: unknown): number {
  if (typeof value === 'string') return value.length;
  if (value instanceof Uint8Array) return value.byteLength;
  if (Array.isArray(value)) return value.reduce((sum: number, item) => sum + payloadBytes(item), 0);
  if (typeof value === 'object' && value !== null) {
    let sum = 0;
    for (const item of Object.values(value)) sum += payloadBytes(item);
    return sum;
  }
  return 0;
}
