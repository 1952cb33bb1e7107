/**
 * TLS for HTTP requests to nodes (the client library's, the CLI's, and a node's own
 * calls to another member's client port): a CA to verify the nodes with, and a client
 * certificate for nodes started with --client-cert-auth (etcdctl's --cacert, --cert,
 * --key). Node's built-in fetch takes no such settings, so with them requests go through
 * node:https instead, behind the same fetch signature; without them, through fetch
 * (https:// endpoints are then verified against the system's CAs).
 */
import { Agent, request as httpsRequest } from 'node:https';
import { Readable } from 'node:stream';

export interface ClientTlsOptions {
  /** CA certificates (PEM) that sign the nodes' certificates; default: the system's. */
  readonly ca?: string | Buffer;
  /** This client's certificate (PEM), for nodes that require one. */
  readonly cert?: string | Buffer;
  /** Its private key (PEM). */
  readonly key?: string | Buffer;
  /**
   * Accept any server certificate (etcdctl's --insecure-skip-tls-verify), for nodes
   * with --auto-tls. Traffic is encrypted, but whoever answers is believed.
   */
  readonly insecureSkipVerify?: boolean;
}

export type FetchFunction = (url: string, init: RequestInit) => Promise<Response>;

/** The fetch to use: Node's own, or one over node:https with these TLS settings. */
/** `keepAlive: false` for one-off calls: the connection closes after its request. */
export function fetchWithTls(tls: ClientTlsOptions | undefined, { keepAlive = true }: { readonly keepAlive?: boolean } = {}): FetchFunction {
  if (tls === undefined) return (url, init) => fetch(url, init);
  if ((tls.cert === undefined) !== (tls.key === undefined)) throw new RangeError('a client certificate needs its key: give both cert and key');
  // Keep-alive sockets are unreferenced while idle, so they keep no process alive.
  const agent = new Agent({
    keepAlive,
    ...(tls.ca !== undefined ? { ca: tls.ca } : {}),
    ...(tls.cert !== undefined ? { cert: tls.cert } : {}),
    ...(tls.key !== undefined ? { key: tls.key } : {}),
    rejectUnauthorized: tls.insecureSkipVerify !== true,
  });
  return (url, init) => (url.startsWith('https:') ? httpsFetch(agent, url, init) : fetch(url, init));
}

/** The subset of fetch this client uses: method, string headers, a string or bytes body, a signal. */
function httpsFetch(agent: Agent, url: string, init: RequestInit): Promise<Response> {
  return new Promise((resolve, reject) => {
    const request = httpsRequest(
      url,
      {
        agent,
        method: init.method ?? 'GET',
        headers: (init.headers ?? {}) as Record<string, string>,
        ...(init.signal ? { signal: init.signal } : {}),
      },
      (response) => {
        const headers = new Headers();
        for (const [name, value] of Object.entries(response.headers)) {
          if (Array.isArray(value)) for (const v of value) headers.append(name, v);
          else if (value !== undefined) headers.set(name, value);
        }
        const status = response.statusCode ?? 0;
        const bodyless = status === 204 || status === 205 || status === 304;
        if (bodyless) response.resume();
        resolve(new Response(bodyless ? null : (Readable.toWeb(response) as ReadableStream<Uint8Array>), { status, headers }));
      },
    );
    request.on('error', reject);
    const body = init.body;
    if (body === undefined || body === null) request.end();
    else request.end(body as string | Uint8Array);
  });
}
