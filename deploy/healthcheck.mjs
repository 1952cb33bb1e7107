// The image's HEALTHCHECK: healthy when GET /health on this node's client port answers
// 200 (the node knows a leader). Slim images have no curl, so this is plain node.
// The port is KEEL_HEALTH_PORT, else the port of the client URL the node listens on
// (KEEL_LISTEN_CLIENT_URLS or ETCD_LISTEN_CLIENT_URLS), else etcd's 2379. Plain HTTP:
// a node with client TLS needs its own check.
import { request } from 'node:http';

const listenClientUrl = process.env.KEEL_LISTEN_CLIENT_URLS || process.env.ETCD_LISTEN_CLIENT_URLS;
const port = Number(process.env.KEEL_HEALTH_PORT || (listenClientUrl ? new URL(listenClientUrl).port : '') || 2379);
const timeoutMs = 3_000;
const req = request({ host: '127.0.0.1', port, path: '/health', timeout: timeoutMs }, (res) => {
  res.resume();
  process.exit(res.statusCode === 200 ? 0 : 1);
});
req.on('timeout', () => req.destroy(new Error(`no answer within ${timeoutMs} ms`)));
req.on('error', (error) => {
  console.error(`health check on port ${port}: ${error.message}`);
  process.exit(1);
});
req.end();
