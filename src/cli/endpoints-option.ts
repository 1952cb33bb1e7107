/**
 * The cluster a client command talks to: --endpoints a,b,c, else KEEL_ENDPOINTS, else
 * the three default client ports on this machine.
 */
import { InvalidArgumentError } from 'commander';
import type { Command } from 'commander';
import { normalizeEndpoint } from '../client/endpoints.js';
import { basicAuthorization, KeelClient } from '../client/keel-client.js';
import type { CliIo } from './cli-io.js';

export const defaultEndpoints = ['http://127.0.0.1:7001', 'http://127.0.0.1:7002', 'http://127.0.0.1:7003'] as const;

export interface ConnectionFlags {
  readonly endpoints?: string;
  readonly timeout?: number;
  readonly user?: string;
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

/** Adds --endpoints and --timeout to a command. */
export function withConnectionOptions(command: Command): Command {
  return command
    .option('--endpoints <urls>', `comma-separated client URLs (env KEEL_ENDPOINTS; default ${defaultEndpoints.join(',')})`)
    .option('--timeout <ms>', 'per-request timeout in milliseconds', positiveIntegerArgument)
    .option('--user <name:password>', 'credentials when the cluster has auth enabled (env KEEL_USER; or KEEL_TOKEN for a token)');
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

export function clientFor(flags: ConnectionFlags, io: CliIo, extra: { readonly retries?: number } = {}): KeelClient {
  const authorization = resolveAuthorization(flags.user, io.env);
  return new KeelClient({
    endpoints: resolveEndpoints(flags.endpoints, io.env),
    ...(authorization ? { authorization } : {}),
    ...(flags.timeout === undefined ? {} : { timeoutMs: flags.timeout }),
    ...extra,
  });
}
