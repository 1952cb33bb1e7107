/**
 * Admission per client connection (api/connection-budget.ts) on a real node: one gRPC
 * connection floods 1 MiB puts and has the excess refused at once with etcd's
 * RESOURCE_EXHAUSTED "etcdserver: too many requests", while a second connection's
 * smaller puts, made meanwhile, all succeed. Without the connection bound the flood
 * takes the node's whole budget (pendingWriteBytesMax, set here so that four flooding
 * puts fill it to within less than one of the second connection's) and the second
 * client is refused too.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { credentials, loadPackageDefinition, status } from '@grpc/grpc-js';
import type { GrpcObject, ServiceClientConstructor, ServiceError } from '@grpc/grpc-js';
import { etcdPackageDefinition } from '../proto/etcd-proto.js';
import { withCluster } from '../harness/cluster-harness.js';

const mebibyte = 1024 * 1024;
const floodConcurrent = 40;
const smallPuts = 40;
const nodeWriteBytesMax = 4 * mebibyte + 256 * 1024;
const connectionWriteBytesMax = 2.5 * mebibyte;
const smallValueBytes = 512 * 1024;
/** How long a refused flooding worker waits before putting again. */
const refusedPauseMs = 20;

type Put = (request: object, options: { deadline: number }, callback: (error: ServiceError | null) => void) => void;

/** A KV client on a connection of its own (grpc-js would otherwise share one connection between clients of one address). */
function kvClientOnOwnConnection(endpoint: string): InstanceType<ServiceClientConstructor> {
  const pkg = loadPackageDefinition(etcdPackageDefinition()).etcdserverpb as GrpcObject;
  const KV = pkg.KV as ServiceClientConstructor;
  return new KV(endpoint, credentials.createInsecure(), { 'grpc.use_local_subchannel_pool': 1 });
}

function put(client: InstanceType<ServiceClientConstructor>, key: string, value: Uint8Array): Promise<ServiceError | undefined> {
  const call = (client.Put as Put).bind(client);
  return new Promise((resolve) => call({ key: Buffer.from(key), value }, { deadline: Date.now() + 20_000 }, (error) => resolve(error ?? undefined)));
}

test('one connection flooding large puts is refused at once while another connection keeps writing', { timeout: 120_000 }, async () => {
  // Default timing, as in overload.test.ts: a busy machine's stalls are not a dead leader.
  await withCluster(
    {
      size: 1,
      tickMs: 100,
      electionTicks: 10,
      requestTimeoutMs: 5_000,
      env: { KEEL_PENDING_WRITE_BYTES_MAX: String(nodeWriteBytesMax), KEEL_CONNECTION_WRITE_BYTES_MAX: String(connectionWriteBytesMax) },
    },
    async (cluster) => {
      const endpoint = cluster.node(1).grpcEndpoint;
      const flooder = kvClientOnOwnConnection(endpoint);
      const other = kvClientOnOwnConnection(endpoint);
      try {
        const large = new Uint8Array(mebibyte).fill(0x6f);
        // The flood goes on until the other connection is done, so the node is under it
        // throughout: each of its workers puts again as soon as answered (after a short
        // pause when refused, as a client honouring Retry-After would, only shorter).
        let smallDone = false;
        const flood = { taken: 0, refused: 0, otherwise: [] as string[] };
        const floodWorkers = Array.from({ length: floodConcurrent }, async (_, worker) => {
          for (let i = 0; !smallDone; i++) {
            const error = await put(flooder, `flood/${worker}/${i}`, large);
            if (error === undefined) flood.taken++;
            else if (error.code === status.RESOURCE_EXHAUSTED && error.details === 'etcdserver: too many requests') {
              flood.refused++;
              await new Promise((resolve) => setTimeout(resolve, refusedPauseMs));
            } else {
              flood.otherwise.push(`${error.code} ${error.details}`);
              break;
            }
          }
        });
        const smallErrors: string[] = [];
        try {
          for (let i = 0; i < smallPuts; i++) {
            const error = await put(other, `small/${i}`, new Uint8Array(smallValueBytes).fill(i));
            if (error) smallErrors.push(`${error.code} ${error.details}`);
          }
        } finally {
          smallDone = true;
          await Promise.all(floodWorkers);
        }
        const summary = `flood: ${flood.taken} taken, ${flood.refused} refused, ${flood.otherwise.length} otherwise; small puts failed: ${smallErrors.length} of ${smallPuts}`;
        assert.deepEqual(smallErrors, [], `the second connection's writes all succeed: ${summary}`);
        assert.deepEqual(flood.otherwise, [], `every flooding write is taken or refused at once with etcd's "too many requests": ${summary}`);
        assert.ok(flood.taken > 0, `the flooding connection gets its share: ${summary}`);
        assert.ok(flood.refused > 0, `the flood's excess is refused: ${summary}`);
        console.log(`connection admission: ${summary}`);
      } finally {
        flooder.close();
        other.close();
      }
    },
  );
});
