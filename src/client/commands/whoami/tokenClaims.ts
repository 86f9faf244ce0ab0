/**
 * What a token says about its holder, decoded on this side from what `token.get` returned (the
 * agent already checked the id_token; nothing here is trusted for access decisions). Every value
 * comes from the provider and is shown on terminals, so it is cleaned of control characters.
 * The token itself is never part of the result.
 */
import { jwtPart } from '../../../provider/idTokenRules.js';
import { providerText } from '../../../provider/providerText.js';
import type { TokenReply } from '../../../rpc/methods.js';

export interface TokenFacts {
  /** A JWT (readable claims), a JWE (encrypted for the API), or opaque (only the provider can read it). */
  format: 'jwt' | 'encrypted' | 'opaque';
  algorithm?: string;
  subject?: string;
  email?: string;
  issuer?: string;
  audience?: string[];
  scopes?: string[];
  /** Unix seconds. */
  issued_at?: number;
  expires_at: number;
  /** Step-up (RFC 9470): how, and when, the user authenticated. */
  acr?: string;
  amr?: string[];
  /** Unix seconds. */
  auth_time?: number;
  /** DPoP (RFC 9449): the thumbprint of the key the token is bound to. */
  bound_to?: string;
}

const text = (value: unknown, max = 320): string | undefined =>
  typeof value === 'string' && value !== '' ? providerText(value, max) : undefined;
const number = (value: unknown): number | undefined =>
  typeof value === 'number' && Number.isFinite(value) ? value : undefined;

/** A claim that may be one string, a space-separated list (`scope`) or an array (`aud`, `scp`). */
function list(value: unknown): string[] | undefined {
  const items = typeof value === 'string' ? value.split(' ') : Array.isArray(value) ? value : [];
  const names = items
    .map((item) => text(item, 200))
    .filter((item): item is string => item !== undefined);
  return names.length > 0 ? names : undefined;
}

/** The facts of one token; scopes from its claims, else as the provider reported them (token.get's `scope`). */
export function tokenFacts(reply: TokenReply): TokenFacts {
  const parts = reply.token.split('.');
  const header = jwtPart(parts[0]);
  const facts: TokenFacts = { format: 'opaque', expires_at: reply.expires_at };
  if (parts.length === 5 && header?.enc !== undefined) facts.format = 'encrypted';
  const claims =
    parts.length === 3 && typeof header?.alg === 'string' ? jwtPart(parts[1]) : undefined;
  if (claims) {
    facts.format = 'jwt';
    const fields: { [K in keyof TokenFacts]?: TokenFacts[K] | undefined } = {
      algorithm: text(header!.alg, 40),
      subject: text(claims.sub),
      email: text(claims.email),
      issuer: text(claims.iss, 2000),
      audience: list(claims.aud),
      scopes: list(claims.scope) ?? list(claims.scp),
      issued_at: number(claims.iat),
      acr: text(claims.acr, 200),
      amr: list(claims.amr),
      auth_time: number(claims.auth_time),
      bound_to: text((claims.cnf as { jkt?: unknown } | undefined)?.jkt, 100),
    };
    for (const [key, value] of Object.entries(fields))
      if (value !== undefined) Object.assign(facts, { [key]: value });
  }
  const granted = facts.scopes ?? list(reply.scope);
  if (granted) facts.scopes = granted;
  return facts;
}
