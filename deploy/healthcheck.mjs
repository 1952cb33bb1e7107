// The image's HEALTHCHECK: healthy when GET /health on this node's HTTP API answers 200
// (the node knows a leader). Slim images have no curl, so this is plain node.
// The port is KEEL_HTTP_PORT (etcd-style flags) or KEEL_HEALTH_PORT, default 2378.
import { request } from 'node:http';

const port = Number(process.env.KEEL_HEALTH_PORT ?? process.env.KEEL_HTTP_PORT ?? 2378);
const timeoutMs = 3_000;
const req = request({ host: '127.0.0.1', port, path: '/health', timeout: timeoutMs }, (res) => {
  res.resume();
  process.exit(res.statusCode === 200 ? 0 : 1);
});
req.on('timeout', () => req.destroy(new Error(`no answer within ${timeoutMs} ms`)));
req.on('error', (error) => {
  console.error(`health check: ${error.message}`);
  process.exit(1);
});
req.end();
