/**
 * What a running process has spent, as Linux counts it: its CPU time in user space and in
 * the kernel (/proc/PID/stat), its read- and write-type system calls (/proc/PID/io:
 * read, write, readv, writev, pread, pwrite, on files and sockets alike; not epoll,
 * futex or sendmsg), and the context switches of its threads (/proc/PID/task/*\/status,
 * voluntary and not). The benchmark beside etcd reads it around each row to show where
 * each server's CPU goes, not only how much: a server that makes fewer system calls may
 * still spend more in user space, and the reverse.
 *
 * Threads that exited during a measurement take their context switches with them; the
 * servers measured keep theirs (Node's thread pool, Go's threads).
 */
import { readdirSync, readFileSync } from 'node:fs';

export interface ProcessWork {
  readonly userMicros: number;
  readonly systemMicros: number;
  readonly readWriteCalls: number;
  readonly contextSwitches: number;
}

/** Linux's clock ticks per second (USER_HZ), the unit of /proc/PID/stat's times. */
const clockTicksPerSecond = 100;

const nothing: ProcessWork = { userMicros: 0, systemMicros: 0, readWriteCalls: 0, contextSwitches: 0 };

/** The process's counters now; all zero for a process that is gone. */
export function processWork(pid: number): ProcessWork {
  let stat: string;
  let io: string;
  try {
    stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    io = readFileSync(`/proc/${pid}/io`, 'utf8');
  } catch {
    return nothing;
  }
  // The command name (field 2) may hold spaces: count fields after its closing parenthesis.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const ioCount = (name: string): number => Number(new RegExp(`^${name}: (\\d+)$`, 'm').exec(io)?.[1] ?? 0);
  return {
    userMicros: (Number(fields[11]) * 1e6) / clockTicksPerSecond,
    systemMicros: (Number(fields[12]) * 1e6) / clockTicksPerSecond,
    readWriteCalls: ioCount('syscr') + ioCount('syscw'),
    contextSwitches: threadSwitches(pid),
  };
}

/** What was spent between two readings of one process. */
export function workBetween(before: ProcessWork, after: ProcessWork): ProcessWork {
  return {
    userMicros: after.userMicros - before.userMicros,
    systemMicros: after.systemMicros - before.systemMicros,
    readWriteCalls: after.readWriteCalls - before.readWriteCalls,
    contextSwitches: after.contextSwitches - before.contextSwitches,
  };
}

/** The sum of several processes' work. */
export function totalWork(works: readonly ProcessWork[]): ProcessWork {
  return works.reduce(
    (sum, work) => ({
      userMicros: sum.userMicros + work.userMicros,
      systemMicros: sum.systemMicros + work.systemMicros,
      readWriteCalls: sum.readWriteCalls + work.readWriteCalls,
      contextSwitches: sum.contextSwitches + work.contextSwitches,
    }),
    nothing,
  );
}

function threadSwitches(pid: number): number {
  let switches = 0;
  let tasks: string[];
  try {
    tasks = readdirSync(`/proc/${pid}/task`);
  } catch {
    return 0;
  }
  for (const task of tasks) {
    try {
      const status = readFileSync(`/proc/${pid}/task/${task}/status`, 'utf8');
      for (const match of status.matchAll(/^(?:non)?voluntary_ctxt_switches:\s+(\d+)$/gm)) switches += Number(match[1]);
    } catch {
      // The thread exited between the listing and the read.
    }
  }
  return switches;
}
