/**
 * Downloads a node's snapshot (GET /admin/snapshot): raw bytes, so not through the JSON
 * exchange of http.ts. The bytes end with their own SHA-256 (kv/snapshot-format.ts),
 * which `keel snapshot save` checks before keeping the file.
 */
import { KeelClientError } from './errors.js';
import type { SnapshotDownload } from './maintenance-types.js';
import { fetchWithTls } from './tls.js';
import type { ClientTlsOptions } from './tls.js';

/** `tls`: the CA and client certificate for an https:// endpoint (as KeelClient's `tls`). */
export async function downloadSnapshot(endpoint: string, timeoutMs: number, tls?: ClientTlsOptions): Promise<SnapshotDownload> {
  const fetch = fetchWithTls(tls, { keepAlive: false });
  const url = `${endpoint}/admin/snapshot`;
  let response: Response;
  let data: Uint8Array;
  try {
    response = await fetch(url, { signal: AbortSignal.timeout(timeoutMs) });
    data = new Uint8Array(await response.arrayBuffer());
  } catch (error) {
    const reason = (error as { cause?: { code?: string } }).cause?.code ?? (error as Error).message;
    throw new KeelClientError({ code: 'NETWORK_ERROR', message: `GET ${url}: ${reason}`, status: 0, outcome: 'not-applied', endpoint });
  }
  if (response.status !== 200) {
    let code = 'HTTP_ERROR';
    let message = `GET ${url}: HTTP ${response.status}`;
    try {
      const body = JSON.parse(Buffer.from(data).toString('utf8')) as { error?: { code?: string; message?: string } };
      code = body.error?.code ?? code;
      message = `${message}: ${body.error?.message ?? ''}`;
    } catch {
      // Not a Keel error answer: the status says enough.
    }
    throw new KeelClientError({ code, message, status: response.status, outcome: 'not-applied', endpoint });
  }
  return {
    data,
    index: Number(response.headers.get('x-keel-snapshot-index') ?? 0),
    revision: Number(response.headers.get('x-keel-revision') ?? 0),
  };
}
