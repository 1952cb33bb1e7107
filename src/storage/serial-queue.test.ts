import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SerialQueue } from './serial-queue.js';

test('serial queue: tasks run one at a time in call order, even after a failure', async () => {
  const q = new SerialQueue();
  const events: string[] = [];
  const task =
    (name: string, fail = false) =>
    async (): Promise<string> => {
      events.push(`start ${name}`);
      await new Promise((resolve) => setImmediate(resolve));
      events.push(`end ${name}`);
      if (fail) throw new Error(name);
      return name;
    };
  const a = q.run(task('a'));
  const b = q.run(task('b', true));
  const c = q.run(task('c'));
  assert.equal(await a, 'a');
  await assert.rejects(b, /b/);
  assert.equal(await c, 'c');
  assert.deepEqual(events, ['start a', 'end a', 'start b', 'end b', 'start c', 'end c']);
});
