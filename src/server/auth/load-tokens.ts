/** The token provider a node's configuration asks for (tokens.ts), key files read. */
import type { NodeConfig } from '../../replica/index.js';
import { JwtTokens } from './jwt-tokens.js';
import { SimpleTokens } from './simple-tokens.js';
import { parseTokenSettings, TOKEN_TTL_SECONDS_DEFAULT, type TokenProvider } from './tokens.js';

export async function loadTokenProvider(config: Pick<NodeConfig, 'authToken' | 'authTokenTtlSeconds'>): Promise<TokenProvider> {
  const settings = parseTokenSettings(config.authToken ?? 'simple', config.authTokenTtlSeconds ?? TOKEN_TTL_SECONDS_DEFAULT);
  return settings.kind === 'simple' ? new SimpleTokens(settings.ttlSeconds) : JwtTokens.load(settings);
}
