/**
 * The cluster a client command talks to: --endpoints a,b,c, else KEEL_ENDPOINTS, else
 * the three default client ports on this machine.
 */
import { InvalidArgumentError } from 'commander';
import type { Command } from 'commander';
import { normalizeEndpoint } from '../client/endpoints.js';
import { KeelClient } from '../client/keel-client.js';
import type { CliIo } from './cli-io.js';

export const defaultEndpoints = ['http://127.0.0.1:7001', 'http://127.0.0.1:7002', 'http://127.0.0.1:7003'] as const;

export interface ConnectionFlags {
  readonly endpoints?: string;
  readonly timeout?: number;
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
    .option('--timeout <ms>', 'per-request timeout in milliseconds', positiveIntegerArgument);
}

export function clientFor(flags: ConnectionFlags, io: CliIo, extra: { readonly retries?: number } = {}): KeelClient {
  return new KeelClient({
    endpoints: resolveEndpoints(flags.endpoints, io.env),
    ...(flags.timeout === undefined ? {} : { timeoutMs: flags.timeout }),
    ...extra,
  });
}
