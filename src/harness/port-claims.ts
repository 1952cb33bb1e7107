/**
 * Claims on port numbers shared by every process on the machine.
 *
 * Test files run in separate processes, two at a time, and each draws ports at random
 * from the same range. A check that a port can be bound does not see a port that
 * another process has handed to a node that is down just now (killed, about to
 * restart); the two nodes then meet at the port and one cannot listen. A claim is a
 * file named after the port, created exclusively and holding the claimer's pid: a port
 * another live process has claimed is never handed out again. A claim whose process
 * has died is stale and is taken over; a process removes its own claims as it exits.
 * A port claimed by one of this process's ancestors is this process's to use (once):
 * a test claims a block of ports and hands it to the `keel chaos --base-port` it runs.
 *
 * A claim appears whole or not at all: it is written to a file of this process's own
 * and then hard-linked to the port's name, which fails if the name exists. Two
 * processes taking over the same stale claim in the same instant could both succeed;
 * stale claims come only from killed processes and ports are drawn at random from
 * thousands, so that is left.
 */
import { linkSync, mkdirSync, readFileSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** One directory per user: another user's claims could not be read or taken over anyway. */
export const portClaimsDir = join(tmpdir(), `keel-port-claims-${process.getuid?.() ?? 'user'}`);
const claimedHere = new Set<number>();
/** Ports an ancestor claimed that this process has taken; their claims are the ancestor's to remove. */
const inheritedHere = new Set<number>();
let ancestors: ReadonlySet<number> | undefined;
let cleanupInstalled = false;

/** The pids of this process's parent, its parent, and so on (Linux's /proc; none elsewhere). */
function ancestorPids(): ReadonlySet<number> {
  if (ancestors) return ancestors;
  const found = new Set<number>();
  for (let pid = process.ppid; pid > 1 && !found.has(pid); ) {
    found.add(pid);
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      // The fields after the command name (which may hold spaces) in parentheses: state, then ppid.
      pid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
    } catch {
      break;
    }
  }
  ancestors = found;
  return found;
}

function claimPath(port: number): string {
  return join(portClaimsDir, String(port));
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    // EPERM: the process exists but belongs to someone else.
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function removeClaimsOnExit(): void {
  if (cleanupInstalled) return;
  cleanupInstalled = true;
  process.once('exit', () => {
    for (const port of claimedHere) {
      try {
        unlinkSync(claimPath(port));
      } catch {
        // Already gone: a later process found it stale and took it over.
      }
    }
  });
}

/** The pid in the claim file for `port`, or undefined when it has gone in the meantime. */
function claimant(port: number): number | undefined {
  try {
    const pid = Number(readFileSync(claimPath(port), 'utf8'));
    return Number.isSafeInteger(pid) && pid > 0 ? pid : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Claims `port` for this process. False when another live process holds it, unless
 * that process is an ancestor of this one. A port this process already claimed or
 * took is not claimed twice (the caller keeps its own record).
 */
export function claimPort(port: number): boolean {
  if (claimedHere.has(port) || inheritedHere.has(port)) return false;
  mkdirSync(portClaimsDir, { recursive: true });
  const draft = join(portClaimsDir, `draft-${process.pid}`);
  writeFileSync(draft, String(process.pid));
  try {
    return claimFromDraft(port, draft);
  } finally {
    unlinkSync(draft);
  }
}

function claimFromDraft(port: number, draft: string): boolean {
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      linkSync(draft, claimPath(port));
      claimedHere.add(port);
      removeClaimsOnExit();
      return true;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      const pid = claimant(port);
      if (pid !== undefined && ancestorPids().has(pid)) {
        inheritedHere.add(port);
        return true;
      }
      if (pid !== undefined && isAlive(pid)) return false;
      // Stale: its process died without removing it. Take it over.
      try {
        unlinkSync(claimPath(port));
      } catch {
        // Another process removed it first; the next attempt decides.
      }
    }
  }
  return false;
}

/** Gives up a claim this process holds (a port it drew but will not use). */
export function releasePort(port: number): void {
  inheritedHere.delete(port);
  if (!claimedHere.delete(port)) return;
  try {
    unlinkSync(claimPath(port));
  } catch {
    // Already gone.
  }
}
