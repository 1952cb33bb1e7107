import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Prng } from '../lib/prng.js';
import type { Message } from '../raft/types.js';
import { SimNetwork } from './network.js';
import { Trace } from './trace.js';

function heartbeat(from: number, to: number, commit = 0): Message {
  return { type: 'heartbeat', from, to, term: 1, commit, seq: 0 } as unknown as Message;
}

function network(seed = 1): SimNetwork {
  return new SimNetwork({ idMax: 5, random: new Prng(seed), trace: new Trace(false, 10), inFlightMessagesMax: 10_000 });
}

function deliverAll(net: SimNetwork, fromStep: number, toStep: number): { step: number; message: Message }[] {
  const out: { step: number; message: Message }[] = [];
  for (let step = fromStep; step <= toStep; step++) for (const message of net.arrivals(step)) out.push({ step, message });
  return out;
}

test('a calm network delivers every message once, 1 to 4 steps later', () => {
  const net = network();
  for (let i = 0; i < 100; i++) net.send(heartbeat(1, 2, i), 10);
  const arrived = deliverAll(net, 0, 100);
  assert.equal(arrived.length, 100);
  for (const { step } of arrived) assert.ok(step >= 11 && step <= 14, `arrived at ${step}`);
  assert.deepEqual(net.stats, { sentCount: 100, deliveredCount: 100, droppedCount: 0, duplicatedCount: 0 });
});

test('messages are dropped and duplicated at about the configured rates', () => {
  const net = network(7);
  net.conditions = { ...net.conditions, dropRate: 0.3, duplicateRate: 0.1 };
  for (let i = 0; i < 10_000; i++) net.send(heartbeat(1, 2), 0);
  const arrived = deliverAll(net, 0, 10).length;
  assert.ok(net.stats.droppedCount > 2700 && net.stats.droppedCount < 3300, `dropped ${net.stats.droppedCount}`);
  assert.ok(net.stats.duplicatedCount > 550 && net.stats.duplicatedCount < 850, `duplicated ${net.stats.duplicatedCount}`);
  assert.equal(arrived, 10_000 - net.stats.droppedCount + net.stats.duplicatedCount);
});

test('long delays reorder the messages between two nodes', () => {
  const net = network(3);
  net.conditions = { ...net.conditions, longDelayRate: 0.2, longDelayMaxSteps: 100 };
  for (let i = 0; i < 200; i++) net.send(heartbeat(1, 2, i), i);
  const commits = deliverAll(net, 0, 400).map(({ message }) => (message as { commit: number }).commit);
  assert.equal(commits.length, 200);
  assert.notDeepEqual(
    commits,
    [...commits].sort((a, b) => a - b),
  );
});

test('a cut link loses messages one way only; heal restores it', () => {
  const net = network();
  net.setCut(1, 2, true);
  net.send(heartbeat(1, 2), 0);
  net.send(heartbeat(2, 1), 0);
  assert.deepEqual(
    deliverAll(net, 0, 10).map(({ message }) => message.from),
    [2],
  );
  net.heal();
  net.send(heartbeat(1, 2), 20);
  assert.equal(deliverAll(net, 20, 30).length, 1);
});

test('a link cut while a message is in flight loses it at delivery', () => {
  const net = network();
  net.send(heartbeat(1, 2), 0);
  net.setCut(1, 2, true);
  assert.equal(deliverAll(net, 0, 10).length, 0);
  assert.equal(net.stats.droppedCount, 1);
});

test('a symmetric partition separates groups and cuts off nodes in no group', () => {
  const net = network();
  net.partition([
    [1, 2],
    [3, 4],
  ]);
  assert.equal(net.isCut(1, 2), false);
  assert.equal(net.isCut(3, 4), false);
  assert.equal(net.isCut(1, 3), true);
  assert.equal(net.isCut(4, 2), true);
  assert.equal(net.isCut(5, 1), true);
  assert.equal(net.isCut(1, 5), true);
});

test('the same seed gives the same deliveries', () => {
  const run = (): string => {
    const net = network(42);
    net.conditions = { dropRate: 0.2, duplicateRate: 0.05, delayMinSteps: 1, delayMaxSteps: 9, longDelayRate: 0.05, longDelayMaxSteps: 50 };
    for (let i = 0; i < 300; i++) net.send(heartbeat(1 + (i % 5), 1 + ((i + 1) % 5), i), i);
    return JSON.stringify(deliverAll(net, 0, 500).map(({ step, message }) => [step, message.from, (message as { commit: number }).commit]));
  };
  assert.equal(run(), run());
});
