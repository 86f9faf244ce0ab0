import type { StoredGrant } from './tokenStore.js';

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
  for (const name of ['subject', 'email', 'scope', 'issuer', 'nonce'] as const) {
    const field = fields[name];
    if (typeof field === 'string') grant[name] = field;
  }
  if (typeof fields.ends_at === 'number') grant.ends_at = fields.ends_at;
  return grant;
}
