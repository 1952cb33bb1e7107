/**
 * Network faults injected at the transport, for tests, the chaos harness and the
 * dashboard. They exist only on a transport started with `faultInjection: true`
 * (`Transport.faults` is undefined otherwise, so a production node has no code path
 * into them), and they are driven through a small serializable state:
 *
 *   set(rules)  replace every rule (validated; throws FaultRulesError)
 *   get()       the rules in force and what they did so far (plain JSON)
 *   heal()      remove every rule
 *
 * A rule applies to messages to (`out`), from (`in`) or both ways with one peer (or
 * every peer, `'*'`): it drops a fraction of them (1 blocks them all, which is how a
 * peer is isolated) and holds the rest back for `delayMs`. Several rules may match
 * one message; each is applied in turn, so drops compound and delays add up.
 * Messages already held back when the rules change are still delivered on time,
 * like packets already in flight.
 *
 * Drop decisions draw from an injected RandomSource (seeded by the transport), and
 * only for fractions strictly between 0 and 1, so a run with the same seed and the
 * same traffic drops the same messages.
 */
import type { NodeId, RandomSource } from '../raft/index.js';

export type FaultDirection = 'in' | 'out' | 'both';

export interface FaultRule {
  /** The peer this rule is about, or '*' for every peer. */
  readonly peer: NodeId | '*';
  readonly direction: FaultDirection;
  /** Fraction of matching messages dropped, in [0, 1]; 1 blocks all. Default 0. */
  readonly dropFraction?: number;
  /** Milliseconds a matching message that is not dropped is held back. Default 0. */
  readonly delayMs?: number;
}

export interface FaultCounters {
  droppedIn: number;
  droppedOut: number;
  delayedIn: number;
  delayedOut: number;
}

export interface FaultState {
  readonly rules: readonly FaultRule[];
  readonly counters: Readonly<FaultCounters>;
}

/** What to do with one message: drop it, or deliver it after `delayMs` (0: now). */
export type FaultVerdict = { readonly drop: true } | { readonly drop: false; readonly delayMs: number };

/** Rules that cannot be applied; `message` says which field of which rule. */
export class FaultRulesError extends Error {
  override name = 'FaultRulesError';
  readonly code = 'INVALID_FAULT_RULES';
}

/** Limits on what a rule set may ask for, so an admin request cannot hurt the node. */
export const faultRulesMax = 256;
export const faultDelayMsMax = 60_000;

/** The resolution of drop fractions: decisions draw an integer below this. */
const fractionScale = 1_000_000;

const passNow: FaultVerdict = { drop: false, delayMs: 0 };
const dropIt: FaultVerdict = { drop: true };

export class FaultHooks {
  private rules: readonly FaultRule[] = [];
  private readonly counters: FaultCounters = { droppedIn: 0, droppedOut: 0, delayedIn: 0, delayedOut: 0 };

  constructor(private readonly random: RandomSource) {}

  /** Replaces every rule. Accepts untrusted input (an admin request's JSON). */
  set(rules: unknown): void {
    this.rules = parseFaultRules(rules);
  }

  get(): FaultState {
    return { rules: this.rules.map((rule) => ({ ...rule })), counters: { ...this.counters } };
  }

  /** Removes every rule: the network is whole again. */
  heal(): void {
    this.rules = [];
  }

  /** The transport asks this for every message it sends (`out`) or receives (`in`). */
  decide(direction: 'in' | 'out', peer: NodeId): FaultVerdict {
    if (this.rules.length === 0) return passNow;
    let delayMs = 0;
    for (const rule of this.rules) {
      if (rule.peer !== '*' && rule.peer !== peer) continue;
      if (rule.direction !== 'both' && rule.direction !== direction) continue;
      const fraction = rule.dropFraction ?? 0;
      if (fraction >= 1 || (fraction > 0 && this.random.int(fractionScale) < fraction * fractionScale)) {
        if (direction === 'in') this.counters.droppedIn++;
        else this.counters.droppedOut++;
        return dropIt;
      }
      delayMs += rule.delayMs ?? 0;
    }
    if (delayMs === 0) return passNow;
    if (direction === 'in') this.counters.delayedIn++;
    else this.counters.delayedOut++;
    return { drop: false, delayMs };
  }
}

/** Validates rules from anywhere (typically JSON); returns clean copies or throws. */
export function parseFaultRules(value: unknown): FaultRule[] {
  if (!Array.isArray(value)) throw new FaultRulesError('fault rules must be an array');
  if (value.length > faultRulesMax) throw new FaultRulesError(`at most ${faultRulesMax} fault rules, got ${value.length}`);
  return value.map((item: unknown, i): FaultRule => {
    const where = `fault rule ${i}`;
    if (typeof item !== 'object' || item === null || Array.isArray(item)) throw new FaultRulesError(`${where}: must be an object`);
    const { peer, direction, dropFraction, delayMs, ...rest } = item as Record<string, unknown>;
    const unknownKeys = Object.keys(rest);
    if (unknownKeys.length > 0) throw new FaultRulesError(`${where}: unknown field ${unknownKeys.join(', ')}`);
    if (peer !== '*' && !(typeof peer === 'number' && Number.isSafeInteger(peer) && peer > 0)) {
      throw new FaultRulesError(`${where}: peer must be a node id (a positive integer) or "*", got ${JSON.stringify(peer)}`);
    }
    if (direction !== 'in' && direction !== 'out' && direction !== 'both') {
      throw new FaultRulesError(`${where}: direction must be "in", "out" or "both", got ${JSON.stringify(direction)}`);
    }
    if (dropFraction !== undefined && !(typeof dropFraction === 'number' && dropFraction >= 0 && dropFraction <= 1)) {
      throw new FaultRulesError(`${where}: dropFraction must be a number in [0, 1], got ${JSON.stringify(dropFraction)}`);
    }
    if (delayMs !== undefined && !(typeof delayMs === 'number' && Number.isSafeInteger(delayMs) && delayMs >= 0 && delayMs <= faultDelayMsMax)) {
      throw new FaultRulesError(`${where}: delayMs must be an integer in [0, ${faultDelayMsMax}], got ${JSON.stringify(delayMs)}`);
    }
    return {
      peer,
      direction,
      ...(dropFraction !== undefined ? { dropFraction } : {}),
      ...(delayMs !== undefined ? { delayMs } : {}),
    };
  });
}
