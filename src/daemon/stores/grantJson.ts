import type { DpopJwk } from '../../provider/dpopKey.js';
import { GRANT_TEXTS, type StoredGrant } from './tokenStore.js';

/**
 * Reads a stored grant back. Anything that is not a well-formed grant yields null, so a damaged
 * entry means "log in again" instead of a daemon that cannot start.
 */
export function parseGrant(text: string): StoredGrant | null {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return null;
  }
  if (typeof value !== 'object' || value === null) return null;
  const fields = value as Record<string, unknown>;
  if (typeof fields.refresh_token !== 'string' || fields.refresh_token === '') return null;
  if (typeof fields.saved_at !== 'number') return null;

  const grant: StoredGrant = { refresh_token: fields.refresh_token, saved_at: fields.saved_at };
  for (const name of GRANT_TEXTS) {
    const field = fields[name];
    if (typeof field === 'string') grant[name] = field;
  }
  const key = dpopJwk(fields.dpop_key);
  if (key) grant.dpop_key = key;
  if (typeof fields.ends_at === 'number') grant.ends_at = fields.ends_at;
  return grant;
}

/** A stored DPoP key: a private P-256 JWK, its members base64url text. */
function dpopJwk(value: unknown): DpopJwk | undefined {
  if (typeof value !== 'object' || value === null) return undefined;
  const { kty, crv, x, y, d } = value as Record<string, unknown>;
  if (kty !== 'EC' || crv !== 'P-256') return undefined;
  const members = [x, y, d];
  if (!members.every((m) => typeof m === 'string' && /^[A-Za-z0-9_-]+$/.test(m))) return undefined;
  return { kty, crv, x: x as string, y: y as string, d: d as string };
}
