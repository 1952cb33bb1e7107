/**
 * Deferred sync (lmdb-env.ts, unsynced-marker.ts) with real process crashes: a child
 * process opens the store, applies puts and exits without closing it. Reopened in the
 * same boot, the store holds every commit (the page cache kept them); reopened "after
 * a reboot" (another boot id) it is discarded, since a system crash may have torn it;
 * after a clean close nothing is discarded, whatever the boot.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { encodeCommand } from '../codec/command.js';
import { MvccStore } from '../mvcc/mvcc-store.js';
import { bytes, makeTempDir, removeDir, text } from '../testing/temp-store.js';
import type { Entry } from '../../raft/types.js';

const run = promisify(execFile);
const storeModule = new URL('../mvcc/mvcc-store.js', import.meta.url).href;
const commandModule = new URL('../codec/command.js', import.meta.url).href;
const marker = (dir: string): string => join(dir, 'unsynced-since-boot');

function puts(from: number, to: number): Entry[] {
  const out: Entry[] = [];
  for (let index = from; index <= to; index++) {
    out.push({ term: 1, index, kind: 'normal', data: encodeCommand({ body: { type: 'put', key: bytes(`k${index}`), value: bytes(`v${index}`) } }) });
  }
  return out;
}

/** A child process that applies puts 1..count with deferred sync in boot `bootId`, then exits without closing the store. */
async function crashAfterPuts(dir: string, bootId: string, count: number): Promise<void> {
  const script = `
    const { MvccStore } = await import(${JSON.stringify(storeModule)});
    const { encodeCommand } = await import(${JSON.stringify(commandModule)});
    const store = MvccStore.open({ path: ${JSON.stringify(dir)}, sync: 'deferred', bootId: ${JSON.stringify(bootId)} });
    const from = store.appliedIndex() + 1;
    for (let index = from; index <= ${count}; index++) {
      const command = { body: { type: 'put', key: new TextEncoder().encode('k' + index), value: new TextEncoder().encode('v' + index) } };
      store.applyEntries([{ term: 1, index, kind: 'normal', data: encodeCommand(command) }]);
    }
    process.exit(0);
  `;
  await run(process.execPath, ['--input-type=module', '-e', script]);
}

function readValue(store: MvccStore, key: string): string | undefined {
  const read = store.range({ type: 'range', key: bytes(key) });
  assert.ok(read.ok);
  const kv = read.value.kvs[0];
  return kv ? text(kv.value) : undefined;
}

test('deferred sync: a process crash loses nothing in the same boot; after a reboot the unsynced store is discarded', async () => {
  const dir = makeTempDir();
  try {
    await crashAfterPuts(dir, 'boot-a', 40);
    assert.ok(existsSync(marker(dir)), 'the marker stays after a crash');

    let store = MvccStore.open({ path: dir, sync: 'deferred', bootId: 'boot-a' });
    assert.equal(store.discardedOnOpen, false, 'same boot: the page cache kept every commit');
    assert.equal(store.appliedIndex(), 40);
    assert.equal(readValue(store, 'k40'), 'v40');
    store.applyEntries(puts(41, 50));
    await store.close();
    assert.equal(existsSync(marker(dir)), false, 'a clean close syncs and removes the marker');

    store = MvccStore.open({ path: dir, sync: 'deferred', bootId: 'boot-b' });
    assert.equal(store.discardedOnOpen, false, 'after a clean close a reboot discards nothing');
    assert.equal(store.appliedIndex(), 50);
    assert.equal(readValue(store, 'k50'), 'v50');
    await store.close();

    await crashAfterPuts(dir, 'boot-b', 60);
    store = MvccStore.open({ path: dir, sync: 'deferred', bootId: 'boot-c' });
    try {
      assert.equal(store.discardedOnOpen, true, 'unsynced, then a reboot: the file may be torn');
      assert.equal(store.appliedIndex(), 0, 'the store opens empty, for the runtime to rebuild');
      assert.equal(readValue(store, 'k1'), undefined);
      // It is usable at once: the runtime replays the log into it.
      store.applyEntries(puts(1, 5));
      assert.equal(readValue(store, 'k5'), 'v5');
    } finally {
      await store.close();
    }
  } finally {
    removeDir(dir);
  }
});
