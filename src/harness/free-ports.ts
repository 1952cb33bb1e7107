/**
 * Free TCP ports on 127.0.0.1 for nodes that must keep their ports across restarts.
 *
 * Why not simply bind port 0 and pass on what the OS picked? Port 0 draws from the
 * ephemeral range, and so does every outgoing connection: while a node is down (killed,
 * about to restart), its peers keep dialing it, and any of those outgoing sockets, or
 * a socket of another test process, may take its port number as a source port; the
 * node then cannot listen again. So ports are drawn below the ephemeral range, which
 * the OS never hands out on its own, and each is checked by binding it. A port handed
 * out is claimed for the life of the process (port-claims.ts), so no process on the
 * machine that draws ports here hands it out again.
 *
 * A caller may confine the draw to a range of its own (`keel chaos --base-port`), so
 * that runs sharing a machine each keep to their block.
 */
import { readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { claimPort, releasePort } from './port-claims.js';

const host = '127.0.0.1';
const lowestPort = 10_000;
const attemptsMax = 1_000;

/** The first port of the ephemeral range (Linux reads it from /proc; 32768 elsewhere). */
function ephemeralLow(): number {
  try {
    const [low] = readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/).map(Number);
    if (low !== undefined && Number.isInteger(low) && low > lowestPort + 1_000) return low;
  } catch {
    // Not Linux: use the IANA range's start.
  }
  return 32_768;
}

/** Ports from `low` up to, not including, `high`. */
export interface PortRange {
  readonly low: number;
  readonly high: number;
}

/** The default range: from 10000 to the start of the ephemeral range. */
export function defaultPortRange(): PortRange {
  return { low: lowestPort, high: ephemeralLow() };
}

/** A range of `count` ports from `base`, checked to be valid TCP ports. */
export function portRangeFrom(base: number, count: number): PortRange {
  if (!Number.isSafeInteger(base) || !Number.isSafeInteger(count) || base < 1024 || count < 1 || base + count > 65_536) {
    throw new Error(`the port range ${base}..${base + count - 1} must lie within 1024..65535`);
  }
  return { low: base, high: base + count };
}

/** Whether `port` can be listened on right now. */
export function canListen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(false));
    server.listen({ host, port, exclusive: true }, () => server.close(() => resolve(true)));
  });
}

/** `count` distinct ports that are free now, drawn from `range` (default: below the ephemeral range). */
export async function freePorts(count: number, range: PortRange = defaultPortRange()): Promise<number[]> {
  const { low, high } = range;
  const ports: number[] = [];
  for (let attempt = 0; ports.length < count; attempt++) {
    if (attempt >= attemptsMax) throw new Error(`found only ${ports.length} of ${count} free ports in ${low}..${high - 1} in ${attemptsMax} attempts`);
    const port = low + Math.floor(Math.random() * (high - low));
    if (!claimPort(port)) continue;
    if (await canListen(port)) ports.push(port);
    else releasePort(port);
  }
  return ports;
}

/**
 * A base port such that base + offset + i is free for every offset in `offsets` and
 * i < count (for `keel cluster up --base-port`, which uses base.. and base+100..).
 */
export async function freeBasePort(count: number, offsets: readonly number[]): Promise<number> {
  const span = Math.max(...offsets) + count;
  const high = ephemeralLow() - span;
  for (let attempt = 0; attempt < attemptsMax; attempt++) {
    const base = lowestPort + Math.floor(Math.random() * (high - lowestPort));
    const ports = offsets.flatMap((offset) => Array.from({ length: count }, (_, i) => base + offset + i));
    const claimed = ports.filter(claimPort);
    if (claimed.length === ports.length && (await Promise.all(ports.map(canListen))).every(Boolean)) return base;
    for (const p of claimed) releasePort(p);
  }
  throw new Error(`found no free block of ports below ${ephemeralLow()} in ${attemptsMax} attempts`);
}
