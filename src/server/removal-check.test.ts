import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { pino } from 'pino';
import type { MemberList } from '../kv/members.js';
import { RemovalCheck } from './removal-check.js';

const log = pino({ level: 'silent' });

test('a node that hears no leader asks the other members, and stops only when they list it as removed', async () => {
  const asked: string[] = [];
  const server = createServer((request, response) => {
    asked.push(request.url ?? '');
    response.setHeader('content-type', 'application/json');
    response.end(JSON.stringify({ members: [], removed: [5] }));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  try {
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    const list: MemberList = {
      members: [{ id: 1, name: 'node1', peerUrls: [], clientUrls: [url], grpcUrls: [], isLearner: false }],
      removed: [],
    };
    let removed!: () => void;
    const stopped = new Promise<void>((resolve) => (removed = resolve));
    const check = new RemovalCheck({ self: 5, leaderlessMsMax: 1_000, log, onRemoved: () => removed(), fetch: (url, init) => fetch(url, init) });
    check.tick(0, 0, () => list);
    check.tick(999, 0, () => list);
    assert.deepEqual(asked, [], 'not before leaderlessMsMax without a leader');
    check.tick(1_500, 2, () => list);
    check.tick(2_400, 0, () => list);
    assert.deepEqual(asked, [], 'hearing a leader starts the wait over');
    check.tick(3_400, 0, () => list);
    await stopped;
    assert.deepEqual(asked, ['/members']);
  } finally {
    server.close();
  }
});
