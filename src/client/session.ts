/**
 * Client sessions for exactly-once writes (Raft thesis §6.3). The state machine keeps,
 * per client id, the last sequence number applied and its result, and expects at most
 * one outstanding command per client id: a command numbered below the last one it
 * applied is refused (SESSION_EXPIRED), and a client id it does not know must start at
 * seq 1. So one KeelClient holds a pool of sessions, each with its own client id (a
 * random per-client base plus a counter) and its own sequence: a write takes an idle
 * session, sends every retry with the same (client id, seq), and gives the session
 * back when its outcome is settled. Concurrent writes use different sessions.
 *
 * After a write, the session is:
 *   - advanced (next seq) when the write was applied or answered by the state machine;
 *   - kept at the same seq when no attempt can have reached the log (503 / refused);
 *   - retired when the outcome is unknown, or when the server may not know the session
 *     yet and may have recorded the seq: a later write under a fresh client id can never
 *     be mistaken for a duplicate of a write whose fate is unknown.
 */
import { randomBytes } from 'node:crypto';

export interface SessionTicket {
  readonly clientId: string;
  readonly seq: number;
}

/** The headers that carry a write's session to the server (none for a write without one). */
export function sessionHeaders(session: SessionTicket | undefined): Record<string, string> {
  return session ? { 'x-keel-client-id': session.clientId, 'x-keel-seq': String(session.seq) } : {};
}

/** How a write ended, as far as its session is concerned. */
export type SessionSettlement = 'applied' | 'not-sent' | 'answered-error' | 'unknown';

interface SessionState {
  readonly clientId: string;
  /** The seq the next write will use. */
  nextSeq: number;
  /** The server has applied a command of this session, so it knows the client id. */
  known: boolean;
}

export class SessionPool {
  private readonly idle: SessionState[] = [];
  private readonly busy = new Map<string, SessionState>();
  private created = 0;
  readonly baseId: string;

  constructor(baseId: string = randomBytes(9).toString('base64url')) {
    this.baseId = baseId;
  }

  /** A session for one write; settle() it exactly once. */
  acquire(): SessionTicket {
    const state = this.idle.pop() ?? { clientId: `${this.baseId}-${++this.created}`, nextSeq: 1, known: false };
    this.busy.set(state.clientId, state);
    return { clientId: state.clientId, seq: state.nextSeq };
  }

  settle(ticket: SessionTicket, how: SessionSettlement): void {
    const state = this.busy.get(ticket.clientId);
    if (!state || state.nextSeq !== ticket.seq) throw new Error(`session ${ticket.clientId} seq ${ticket.seq} settled twice or never acquired`);
    this.busy.delete(ticket.clientId);
    switch (how) {
      case 'applied':
        state.nextSeq += 1;
        state.known = true;
        break;
      case 'not-sent':
        break;
      case 'answered-error':
        // A known session moves past the seq whether or not it was recorded; an unknown
        // one cannot (the server would want seq 1 again, or answer a reuse as a duplicate).
        if (!state.known) return;
        state.nextSeq += 1;
        break;
      case 'unknown':
        return;
    }
    this.idle.push(state);
  }

  /** Sessions not in use now. */
  idleCount(): number {
    return this.idle.length;
  }

  /** Client ids created so far. */
  createdCount(): number {
    return this.created;
  }
}
