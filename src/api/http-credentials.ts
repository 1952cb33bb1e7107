/**
 * What an HTTP request brings to prove who sent it, from its Authorization header:
 *   - `Bearer TOKEN`, or a bare TOKEN (etcd's gateway takes the token as the header's
 *     whole value): a token from Authenticate (POST /v3/auth/authenticate);
 *   - `Basic base64(user:password)`: the password itself, checked on each request
 *     (REST convenience; each check costs a password hash, so clients that make many
 *     requests should log in once and send the token).
 * Browsers cannot set headers on a WebSocket or EventSource, so for the watch streams
 * a `token` query parameter is taken too.
 */
import type { FastifyRequest } from 'fastify';
import type { Credentials } from '../server/index.js';
import { commonNameOfHttpRequest } from './client-certificate.js';

/** The request's credentials, with its verified client certificate's common name when there is one (caller.ts decides what wins). */
export function httpCredentials(request: FastifyRequest): Credentials {
  const fromHeaders = credentialsOfHeaders(request);
  const commonName = commonNameOfHttpRequest(request);
  return commonName === undefined ? fromHeaders : { ...fromHeaders, certificateCommonName: commonName };
}

function credentialsOfHeaders(request: FastifyRequest): Credentials {
  const header = request.headers.authorization;
  if (header !== undefined && header !== '') {
    const basic = /^Basic\s+(\S+)$/i.exec(header);
    if (basic) {
      const decoded = Buffer.from(basic[1] as string, 'base64').toString('utf8');
      const colon = decoded.indexOf(':');
      if (colon >= 0) return { basic: { user: decoded.slice(0, colon), password: decoded.slice(colon + 1) } };
      return { token: '' };
    }
    return { token: header.replace(/^Bearer\s+/i, '') };
  }
  const query = request.query as Record<string, unknown> | undefined;
  const token = query?.token;
  return typeof token === 'string' && token !== '' ? { token } : {};
}
