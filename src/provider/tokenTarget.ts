import { AgentError } from '../rpc/jsonRpc.js';
import { commaListHint, isScopeToken } from '../config/scopeSyntax.js';

/**
 * What a scoped or audience token is for (`token --scope S --audience A`). It is obtained with the
 * stored refresh token and cached apart from the profile's main token, under `key`.
 */
export interface TokenTarget {
  /** Space-separated, sorted, without duplicates: "b a" and "a b a" are one target. */
  readonly scope?: string;
  /** Sent as the RFC 8707 `resource`, and as `audience` for profiles that use that parameter. */
  readonly audience?: string;
  /** '' is the main token. */
  readonly key: string;
}

export const MAIN_TARGET: TokenTarget = { key: '' };

export function tokenTarget(scope: string | undefined, audience: string | undefined): TokenTarget {
  if (scope === undefined && audience === undefined) return MAIN_TARGET;
  let normalised: string | undefined;
  if (scope !== undefined) {
    const names = [...new Set(scope.split(/\s+/).filter(Boolean))].sort();
    const bad = names.find((name) => !isScopeToken(name));
    if (names.length === 0 || bad !== undefined) {
      const hint = bad === undefined ? undefined : commaListHint(bad);
      const got = hint ? `: ${hint}` : bad ? `, got "${bad}"` : '';
      const rule = 'token.get: "scope" must be scope names separated by spaces';
      throw new AgentError('INVALID_PARAMS', `${rule}${got}`);
    }
    normalised = names.join(' ');
  }
  return {
    ...(normalised !== undefined ? { scope: normalised } : {}),
    ...(audience !== undefined ? { audience } : {}),
    key: `${normalised ?? ''}\u0000${audience ?? ''}`,
  };
}

/** For messages: `scope "a b" and audience https://api.example.com`. */
export function describeTarget(target: TokenTarget): string {
  const parts: string[] = [];
  if (target.scope !== undefined) parts.push(`scope "${target.scope}"`);
  if (target.audience !== undefined) parts.push(`audience ${target.audience}`);
  return parts.join(' and ');
}
