/**
 * A plain static file server on 127.0.0.1 for the built dashboard, so a browser test can
 * show that simulation mode needs no Keel node at all. Serves `root` under `prefix`,
 * nothing outside it.
 */
import { readFile } from 'node:fs/promises';
import { createServer } from 'node:http';
import { extname, join, normalize } from 'node:path';

const contentTypes: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.map': 'application/json',
};

export async function serveStatic(root: string, prefix: string): Promise<{ url: string; close(): Promise<void> }> {
  const server = createServer((request, response) => {
    const path = new URL(request.url ?? '/', 'http://127.0.0.1').pathname;
    const relative = path.startsWith(prefix) ? normalize(path.slice(prefix.length) || 'index.html') : undefined;
    if (relative === undefined || relative.startsWith('..')) {
      response.writeHead(404).end();
      return;
    }
    readFile(join(root, relative)).then(
      (data) => response.writeHead(200, { 'content-type': contentTypes[extname(relative)] ?? 'application/octet-stream' }).end(data),
      () => response.writeHead(404).end(),
    );
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  return { url: `http://127.0.0.1:${port}${prefix}`, close: () => new Promise((resolve) => server.close(() => resolve())) };
}
