/**
 * A client that opens many gRPC calls on one connection, each announcing a large
 * message and sending most of it but never the end, against a real node started with
 * the default settings: the node holds connectionArrivingBytesMax of them and the
 * others wait (api/grpc/arriving-bytes.ts), as keel_grpc_calls_waiting_to_arrive
 * shows, without having taken the bytes their prefixes announced; once the client
 * goes, its calls are given up and the node serves as before. That a waiting call is
 * left unread, so that flow control holds its client back, call-server.test.ts shows
 * on the call server itself. Without the bound every call kept what it had received:
 * 500 such calls grew a node by 511 MiB (docs/operating/known-gaps.md).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { connect } from 'node:http2';
import { withCluster } from '../harness/cluster-harness.js';
import { http } from '../harness/http.js';
import { processMemory } from '../harness/process-memory.js';
import { waitFor } from '../harness/wait-for.js';

const mebibyte = 1024 * 1024;
const calls = 150;
/** Each call's message: announced at 1.5 MiB, sent up to 1 MiB, never finished. */
const announcedBytes = 1.5 * mebibyte;
const sentBytes = mebibyte;

async function callsWaiting(url: string): Promise<number> {
  const metrics = await http(`${url}/metrics`);
  return Number(/^keel_grpc_calls_waiting_to_arrive (\d+)$/m.exec(String(metrics.body))?.[1] ?? Number.NaN);
}

test('calls that never finish their large requests wait unread: the node holds only the arriving bound and then serves on', { timeout: 120_000 }, async () => {
  await withCluster({ size: 1 }, async (cluster) => {
    const node = cluster.node(1);
    const before = processMemory(node.pid).anonymousBytes;
    const session = connect(`http://${node.grpcEndpoint}`);
    session.on('error', () => {
      // Destroyed at the end of the test; nothing to report.
    });
    try {
      await once(session, 'connect');
      const prefix = Buffer.alloc(5);
      prefix.writeUInt32BE(announcedBytes, 1);
      const body = Buffer.concat([prefix, Buffer.alloc(sentBytes - 5, 0x61)]);
      for (let i = 0; i < calls; i++) {
        const stream = session.request({ ':method': 'POST', ':path': '/etcdserverpb.KV/Put', 'content-type': 'application/grpc', te: 'trailers' });
        stream.on('error', () => {
          // Reset when the session is destroyed.
        });
        stream.write(body);
      }
      // 4 MiB (the default bound) holds two of the 1.5 MiB messages; every other call waits.
      const waiting = await waitFor(async () => ((await callsWaiting(node.url)) === calls - 2 ? calls - 2 : undefined), {
        timeoutMs: 30_000,
        what: `${calls - 2} calls waiting to arrive`,
        explain: async () => `keel_grpc_calls_waiting_to_arrive ${await callsWaiting(node.url)}`,
      });
      assert.equal(waiting, calls - 2);
      const grown = processMemory(node.pid).anonymousBytes - before;
      assert.ok(
        grown < 96 * mebibyte,
        `the node grew by ${Math.round(grown / mebibyte)} MiB holding ${calls} unfinished calls announcing ${announcedBytes / mebibyte} MiB each`,
      );
    } finally {
      session.destroy();
    }
    // The client gone, its calls are given up and the node serves.
    await waitFor(async () => (await callsWaiting(node.url)) === 0, { timeoutMs: 10_000, what: 'no call waiting once the client went' });
    const put = await http(`${node.url}/kv/after`, { method: 'PUT', body: 'flood', headers: { 'content-type': 'text/plain' } });
    assert.equal(put.status, 200);
  });
});
