import { createHash } from 'node:crypto';
import { PROFILE_ENDPOINTS, type Profile } from './profile.js';

type KeyedFields = Pick<Profile, 'name' | 'clientId' | 'dpop' | (typeof PROFILE_ENDPOINTS)[number]>;

/**
 * The login's key in the token store: a readable prefix (profile, client, issuer or token URL)
 * and a hash of every endpoint that receives the refresh token. A profile whose token_url or
 * revocation_url was changed (by its owner, or by someone who could write the file) thus finds
 * no login, instead of sending the old one to the new endpoint. A DPoP login (its refresh token
 * bound to its key) is another login than a plain one: turning `dpop` on or off needs a new login.
 */
export function storeKeyOf(profile: KeyedFields): string {
  const endpoints = PROFILE_ENDPOINTS.map((field) => profile[field] ?? null);
  const dpop = profile.dpop ? ['dpop'] : [];
  const digest = createHash('sha256')
    .update(JSON.stringify([profile.name, profile.clientId, ...endpoints, ...dpop]))
    .digest('hex')
    .slice(0, 16);
  return `${profile.name}/${profile.clientId}@${profile.issuer ?? profile.tokenUrl ?? ''}#${digest}`;
}
