/**
 * Throughput of the peer transport on loopback: `npm run bench:transport`.
 * A benchmark, not a test: it prints figures and asserts nothing about time.
 *
 * The receiving node runs in a worker thread, so sender and receiver each have an
 * event loop (and, given two cores, a core) of their own, as two real nodes would.
 * Each scenario sends `count` append messages from node 1 to node 2 in bursts of
 * `burst` messages per event-loop turn, and stops the clock when node 2 has
 * received them all. Queues are sized so nothing is dropped (checked).
 */
import { isMainThread, parentPort, Worker, workerData } from 'node:worker_threads';
import type { Entry, Message } from '../../raft/index.js';
import { Transport, clusterSecretBytes } from '../transport.js';
import type { PeerAddress } from '../transport.js';
import { decodeMessage, encodeMessage } from '../message-codec.js';

const host = '127.0.0.1';
const clusterId = 'bench';
/** Both ends share it (the worker builds the same bytes): a benchmark on loopback, not a secret. */
const secret = new Uint8Array(clusterSecretBytes).fill(7);

interface Scenario {
  readonly name: string;
  readonly count: number;
  readonly burst: number;
  readonly entriesPerMessage: number;
  readonly entryBytes: number;
}

const scenarios: readonly Scenario[] = [
  { name: 'append, 1 x 100 B entry, 1 message per turn', count: 20_000, burst: 1, entriesPerMessage: 1, entryBytes: 100 },
  { name: 'append, 1 x 100 B entry, 10 messages per turn', count: 200_000, burst: 10, entriesPerMessage: 1, entryBytes: 100 },
  { name: 'append, 1 x 100 B entry, 100 messages per turn', count: 500_000, burst: 100, entriesPerMessage: 1, entryBytes: 100 },
  { name: 'append, 1 x 100 B entry, 1000 messages per turn', count: 500_000, burst: 1000, entriesPerMessage: 1, entryBytes: 100 },
  { name: 'append, 64 x 100 B entries, 10 messages per turn', count: 20_000, burst: 10, entriesPerMessage: 64, entryBytes: 100 },
  { name: 'append, 1 x 64 KiB entry, 10 messages per turn', count: 10_000, burst: 10, entriesPerMessage: 1, entryBytes: 64 * 1024 },
];

function appendMessage(seq: number, scenario: Scenario, data: Uint8Array): Message {
  const prevIndex = seq * scenario.entriesPerMessage;
  const entries: Entry[] = [];
  for (let i = 0; i < scenario.entriesPerMessage; i++) entries.push({ term: 1, index: prevIndex + 1 + i, kind: 'normal', data });
  return { type: 'append', from: 1, to: 2, term: 1, prevIndex, prevTerm: 1, commit: prevIndex, entries };
}

const turn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

async function runScenario(scenario: Scenario, worker: Worker, receiverAddress: PeerAddress): Promise<void> {
  const sender = await Transport.start({
    nodeId: 1,
    clusterId,
    secret,
    listen: { host, port: 0 },
    peers: new Map([[2, receiverAddress]]),
    onMessage: () => {},
    peerQueueMessagesMax: scenario.count,
    peerQueueBytesMax: 4 * 1024 * 1024 * 1024,
  });
  const done = new Promise<number>((resolve) => {
    worker.once('message', (reply: { received: number }) => resolve(reply.received));
  });
  worker.postMessage({ expect: scenario.count, senderAddress: sender.address });
  while (!sender.stats().peers[0]?.connected) await turn();
  const data = new Uint8Array(scenario.entryBytes).fill(7);
  const messages = Array.from({ length: scenario.burst }, (_, i) => appendMessage(i, scenario, data));
  const start = performance.now();
  for (let sent = 0; sent < scenario.count; ) {
    for (let i = 0; i < scenario.burst && sent < scenario.count; i++, sent++) sender.send(messages[i] as Message);
    await turn();
  }
  const received = await done;
  const seconds = (performance.now() - start) / 1000;
  const stats = sender.stats();
  await sender.close();
  const bytes = encodeMessage(messages[0] as Message).length + 4;
  const perSecond = received / seconds;
  console.log(
    `${scenario.name.padEnd(52)} ${fmt(perSecond).padStart(10)} msg/s ${fmt(perSecond * scenario.entriesPerMessage).padStart(10)} entries/s ` +
      `${((perSecond * bytes) / 1e6).toFixed(1).padStart(7)} MB/s  (${bytes} B frames, dropped ${stats.dropped})`,
  );
}

function codecBench(): void {
  const message = appendMessage(1_000_000, { name: '', count: 0, burst: 0, entriesPerMessage: 1, entryBytes: 100 }, new Uint8Array(100).fill(7));
  const rounds = 300_000;
  let start = performance.now();
  let encoded = encodeMessage(message);
  for (let i = 0; i < rounds; i++) encoded = encodeMessage(message);
  const encodeSeconds = (performance.now() - start) / 1000;
  start = performance.now();
  for (let i = 0; i < rounds; i++) decodeMessage(encoded);
  const decodeSeconds = (performance.now() - start) / 1000;
  console.log(`codec, append with 1 x 100 B entry (${encoded.length} B): encode ${fmt(rounds / encodeSeconds)}/s, decode ${fmt(rounds / decodeSeconds)}/s`);
}

const fmt = (n: number): string => Math.round(n).toLocaleString('en-US');

async function main(): Promise<void> {
  console.log(`Node ${process.version}, loopback 127.0.0.1, receiver in a worker thread`);
  codecBench();
  const worker = new Worker(new URL(import.meta.url), { workerData: { role: 'receiver' } });
  const receiverAddress = await new Promise<PeerAddress>((resolve) => worker.once('message', resolve));
  for (const scenario of scenarios) await runScenario(scenario, worker, receiverAddress);
  await worker.terminate();
}

/** The receiving node: counts messages, reports when it has the expected number. */
async function receiver(): Promise<void> {
  const port = parentPort;
  if (port === null) throw new Error('receiver must run in a worker');
  let received = 0;
  let expected = 0;
  const transport = await Transport.start({
    nodeId: 2,
    clusterId,
    secret,
    listen: { host, port: 0 },
    peers: new Map(),
    onMessage: () => {
      received++;
      if (received === expected) port.postMessage({ received });
    },
  });
  port.on('message', (command: { expect: number; senderAddress: PeerAddress }) => {
    received = 0;
    expected = command.expect;
    transport.updatePeers(new Map([[1, command.senderAddress]]));
  });
  port.postMessage(transport.address);
}

if (isMainThread) await main();
else if ((workerData as { role?: string } | undefined)?.role === 'receiver') await receiver();
