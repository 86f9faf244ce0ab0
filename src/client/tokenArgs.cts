/**
 * `kms-agent token`'s arguments, parsed by hand so the hot path loads no commander, and the
 * request and output they turn into. CommonJS so the bin's fast path can load it without
 * starting Node's ES module loader.
 */
import type { Params, TokenKind, TokenReply } from '../rpc/methods.js';

export interface TokenOptions {
  profile?: string | undefined;
  minValid?: number | undefined;
  kind?: TokenKind | undefined;
  scope?: string | undefined;
  audience?: string | undefined;
  output: 'plain' | 'json' | 'header';
  socket?: string | undefined;
  config?: string | undefined;
  autostart?: boolean | undefined;
}

export class UsageError extends Error {}

const VALUE_FLAGS: Record<string, keyof TokenOptions> = {
  '--profile': 'profile',
  '-p': 'profile',
  '--min-valid': 'minValid',
  '--scope': 'scope',
  '--audience': 'audience',
  '--socket': 'socket',
  '--config': 'config',
};

/** Parses `token`'s own arguments (`--flag value` and `--flag=value`). */
export function parseTokenArgs(args: string[]): TokenOptions {
  const options: TokenOptions = { output: 'plain' };
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!;
    const eq = arg.startsWith('--') ? arg.indexOf('=') : -1;
    const flag = eq === -1 ? arg : arg.slice(0, eq);
    const field = VALUE_FLAGS[flag];
    if (field) {
      const value = eq === -1 ? args[++i] : arg.slice(eq + 1);
      if (value === undefined || value === '') throw new UsageError(`option ${flag} needs a value`);
      if (field === 'minValid') {
        const seconds = Number(value);
        if (!Number.isFinite(seconds) || seconds < 0) throw new UsageError(`--min-valid takes a number of seconds, got "${value}"`);
        options.minValid = seconds;
      } else {
        (options as unknown as Record<string, string>)[field] = value;
      }
      continue;
    }
    switch (arg) {
      case '--id':
        options.kind = 'id';
        break;
      case '--access':
        options.kind = 'access';
        break;
      case '--json':
        options.output = 'json';
        break;
      case '--header':
        options.output = 'header';
        break;
      case '--no-autostart':
        options.autostart = false;
        break;
      default:
        throw new UsageError(`unknown option ${arg} (see \`kms-agent token --help\`)`);
    }
  }
  return options;
}

export function formatToken(reply: TokenReply, output: TokenOptions['output']): string {
  if (output === 'json') return JSON.stringify(reply) + '\n';
  if (output === 'header') return `Authorization: ${reply.token_type} ${reply.token}\n`;
  return reply.token + '\n';
}

/** A provider may grant other scopes than a --scope asked for (Glewlwyd ignores it on refresh): said, never silent. */
export function scopeNotice(options: TokenOptions, reply: TokenReply): string | undefined {
  if (!options.scope || reply.scope === undefined) return undefined;
  const asked = new Set(options.scope.split(' ').filter(Boolean));
  const granted = new Set(reply.scope.split(' ').filter(Boolean));
  if (asked.size === granted.size && [...asked].every((scope) => granted.has(scope))) return undefined;
  return `the provider granted the scope "${reply.scope}", not the "${options.scope}" asked for`;
}

/** A --min-valid the token cannot meet (the provider issues shorter-lived tokens, or was unreachable): said, never silent. */
export function minValidNotice(options: TokenOptions, reply: TokenReply, nowSeconds: number): string | undefined {
  const left = Math.floor(reply.expires_at - nowSeconds);
  if (options.minValid === undefined || left >= options.minValid) return undefined;
  return `this token is valid for ${left} s, less than the ${options.minValid} s --min-valid asked for: the provider issues shorter-lived tokens, or could not be reached for a fresh one`;
}

export function tokenParams(options: TokenOptions, env: NodeJS.ProcessEnv = process.env): Params<'token.get'> {
  const params: Params<'token.get'> = {};
  const profile = options.profile ?? env.KMS_AGENT_PROFILE;
  if (profile) params.profile = profile;
  if (options.minValid !== undefined) params.min_valid = options.minValid;
  if (options.kind) params.kind = options.kind;
  if (options.scope) params.scope = options.scope;
  if (options.audience) params.audience = options.audience;
  return params;
}

/** Provider calls are bounded in the daemon; this only guards against a wedged agent. */
export const TOKEN_TIMEOUT_MS = 60_000;
