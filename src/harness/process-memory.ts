/**
 * A running process's memory as Linux counts it (/proc/PID/status). Resident memory
 * (VmRSS) includes the file pages a process has mapped and touched, so a node whose
 * store is a memory-mapped LMDB file shows the pages of the store it read; its own
 * allocations (the JavaScript heap, buffers) are the anonymous part, RssAnon.
 */
import { readFileSync } from 'node:fs';

export interface ProcessMemory {
  /** Everything resident: anonymous memory and mapped file pages. */
  readonly residentBytes: number;
  /** Resident anonymous memory: what the process allocated, not the files it mapped. */
  readonly anonymousBytes: number;
}

export function processMemory(pid: number): ProcessMemory {
  const lines = readFileSync(`/proc/${pid}/status`, 'utf8').split('\n');
  const kibibytes = (field: string): number => {
    const line = lines.find((l) => l.startsWith(`${field}:`));
    const value = line === undefined ? undefined : /(\d+)/.exec(line)?.[1];
    if (value === undefined) throw new Error(`/proc/${pid}/status has no ${field} line`);
    return Number(value) * 1024;
  };
  return { residentBytes: kibibytes('VmRSS'), anonymousBytes: kibibytes('RssAnon') };
}
