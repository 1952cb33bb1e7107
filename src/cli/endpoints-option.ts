/**
 * The cluster a client command talks to: --endpoints a,b,c, else KEEL_ENDPOINTS, else
 * the three default client ports on this machine; and how (TLS flags named as etcdctl's).
 */
import { InvalidArgumentError } from 'commander';
import type { Command } from 'commander';
import { normalizeEndpoint, basicAuthorization, KeelClient, type ClientTlsOptions } from '../client/index.js';
import type { CliIo } from './cli-io.js';
import { readFileSync } from 'node:fs';

export const defaultEndpoints = ['http://127.0.0.1:7001', 'http://127.0.0.1:7002', 'http://127.0.0.1:7003'] as const;

export interface ConnectionFlags {
  readonly endpoints?: string;
  readonly timeout?: number;
  readonly user?: string;
  /** etcdctl's TLS flags: CA file, client certificate file, its key file. */
  readonly cacert?: string;
  readonly cert?: string;
  readonly key?: string;
  readonly insecureSkipTlsVerify?: boolean;
}

/** Splits a comma-separated list and normalizes each endpoint; throws RangeError on a bad one. */
export function parseEndpointList(text: string): string[] {
  const endpoints = text
    .split(',')
    .map((e) => e.trim())
    .filter((e) => e.length > 0)
    .map(normalizeEndpoint);
  if (endpoints.length === 0) throw new RangeError(`no endpoints in ${JSON.stringify(text)}`);
  return endpoints;
}

export function resolveEndpoints(flag: string | undefined, env: CliIo['env']): string[] {
  if (flag !== undefined) return parseEndpointList(flag);
  const fromEnv = env['KEEL_ENDPOINTS'];
  if (fromEnv !== undefined && fromEnv.trim() !== '') return parseEndpointList(fromEnv);
  return [...defaultEndpoints];
}

export function positiveIntegerArgument(text: string): number {
  const value = Number(text);
  if (!/^\d+$/.test(text.trim()) || !Number.isSafeInteger(value) || value < 1) throw new InvalidArgumentError('expected a positive integer');
  return value;
}

/** Adds --endpoints, --timeout, --user and etcdctl's TLS flags to a command. */
export function withConnectionOptions(command: Command): Command {
  return command
    .option('--endpoints <urls>', `comma-separated client URLs (env KEEL_ENDPOINTS; default ${defaultEndpoints.join(',')})`)
    .option('--timeout <ms>', 'per-request timeout in milliseconds', positiveIntegerArgument)
    .option('--user <name:password>', 'credentials when the cluster has auth enabled (env KEEL_USER; or KEEL_TOKEN for a token)')
    .option('--cacert <file>', 'verify https:// endpoints with this CA certificate, PEM (env KEEL_CACERT)')
    .option('--cert <file>', 'client certificate, PEM, for nodes with --client-cert-auth (env KEEL_CERT)')
    .option('--key <file>', 'its private key, PEM (env KEEL_KEY)')
    .option('--insecure-skip-tls-verify', 'accept any server certificate (nodes with --auto-tls); encrypts, but trusts whoever answers');
}

/** The Authorization header from --user, KEEL_USER (name:password) or KEEL_TOKEN; none without. */
export function resolveAuthorization(flag: string | undefined, env: CliIo['env']): string | undefined {
  const user = flag ?? env['KEEL_USER'];
  if (user !== undefined && user !== '') {
    const colon = user.indexOf(':');
    if (colon < 1) throw new InvalidArgumentError('--user must be name:password');
    return basicAuthorization(user.slice(0, colon), user.slice(colon + 1));
  }
  const token = env['KEEL_TOKEN'];
  return token !== undefined && token !== '' ? `Bearer ${token}` : undefined;
}

/**
 * The TLS settings from --cacert, --cert, --key (else KEEL_CACERT, KEEL_CERT, KEEL_KEY)
 * and --insecure-skip-tls-verify; undefined when none is given. A file that cannot be
 * read is a RangeError naming it.
 */
export function resolveTls(flags: ConnectionFlags, env: CliIo['env']): ClientTlsOptions | undefined {
  const file = (flag: string | undefined, variable: string, what: string): Buffer | undefined => {
    const path = flag ?? (env[variable] !== undefined && env[variable] !== '' ? env[variable] : undefined);
    if (path === undefined) return undefined;
    try {
      return readFileSync(path);
    } catch (error) {
      throw new RangeError(`cannot read the ${what} file ${path}: ${(error as Error).message}`);
    }
  };
  const ca = file(flags.cacert, 'KEEL_CACERT', 'CA certificate (--cacert)');
  const cert = file(flags.cert, 'KEEL_CERT', 'client certificate (--cert)');
  const key = file(flags.key, 'KEEL_KEY', 'client key (--key)');
  if ((cert === undefined) !== (key === undefined)) throw new RangeError('--cert and --key must be given together');
  if (ca === undefined && cert === undefined && flags.insecureSkipTlsVerify !== true) return undefined;
  return {
    ...(ca !== undefined ? { ca } : {}),
    ...(cert !== undefined ? { cert } : {}),
    ...(key !== undefined ? { key } : {}),
    ...(flags.insecureSkipTlsVerify === true ? { insecureSkipVerify: true } : {}),
  };
}

export function clientFor(flags: ConnectionFlags, io: CliIo, extra: { readonly retries?: number } = {}): KeelClient {
  const authorization = resolveAuthorization(flags.user, io.env);
  const tls = resolveTls(flags, io.env);
  return new KeelClient({
    endpoints: resolveEndpoints(flags.endpoints, io.env),
    ...(authorization ? { authorization } : {}),
    ...(tls !== undefined ? { tls } : {}),
    ...(flags.timeout === undefined ? {} : { timeoutMs: flags.timeout }),
    ...extra,
  });
}
