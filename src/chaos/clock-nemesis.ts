/**
 * Clock skew with libfaketime (Debian package `faketime`): a node is restarted with
 * its wall clock shifted by minutes, forwards or backwards, and at the end restarted
 * with the true clock again. Keel's Raft timing runs on the monotonic clock (Node's
 * timers), which libfaketime leaves alone unless asked; so this checks that nothing
 * that decides safety reads the wall clock. Skipped, with a reason, where libfaketime
 * is not installed.
 */
import { existsSync } from 'node:fs';
import type { Nemesis, NemesisContext } from './nemesis.js';

const libraryPaths = [
  '/usr/lib/x86_64-linux-gnu/faketime/libfaketime.so.1',
  '/usr/lib/aarch64-linux-gnu/faketime/libfaketime.so.1',
  '/usr/lib/faketime/libfaketime.so.1',
];
const skewed = new WeakMap<NemesisContext, number>();

function libfaketime(): string | undefined {
  return libraryPaths.find((path) => existsSync(path));
}

export const clockSkew: Nemesis = {
  name: 'clock-skew',
  async unavailable() {
    return libfaketime() ? undefined : 'libfaketime is not installed (scripts/setup-ci.sh installs it; or apt-get install -y faketime)';
  },
  async start(context) {
    const running = context.cluster.runningIds();
    const id = running[context.random.int(running.length)] as number;
    const skewSeconds = (context.random.chance(0.5) ? 1 : -1) * (60 + context.random.int(600));
    await context.cluster.kill(id);
    await context.cluster.startNode(id, {
      LD_PRELOAD: libfaketime() as string,
      FAKETIME: `${skewSeconds > 0 ? '+' : ''}${skewSeconds}s`,
      FAKETIME_DONT_FAKE_MONOTONIC: '1',
    });
    await context.board.push(id);
    skewed.set(context, id);
    return `node ${id} restarted with its clock ${skewSeconds > 0 ? 'ahead' : 'behind'} by ${Math.abs(skewSeconds)} s`;
  },
  async stop(context) {
    const id = skewed.get(context);
    if (id === undefined) return;
    skewed.delete(context);
    await context.cluster.kill(id);
    await context.cluster.startNode(id);
    await context.board.push(id);
  },
};
