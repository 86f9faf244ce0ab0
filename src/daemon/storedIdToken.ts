import type { Profile } from '../config/profile.js';
import { checkIdToken } from '../provider/idTokenRules.js';
import { idTokenTimes } from '../provider/tokenSet.js';
import { refreshExpectations } from './idExpectations.js';
import type { StoredGrant } from './stores/tokenStore.js';
import { servedIdToken, type ServedToken } from './tokenCache.js';

/**
 * The stored login's id_token, to serve after a restart while it is valid: a provider that renews
 * no id_token on refresh (Glewlwyd) would otherwise need a new login. It is held to the same rules
 * as a refreshed one (this client, issuer and subject); one that fails them, or has expired, is
 * not served.
 */
export function storedIdToken(
  profile: Profile,
  grant: StoredGrant | null | undefined,
): ServedToken | undefined {
  if (!grant?.id_token) return undefined;
  const expect = refreshExpectations(profile, grant);
  try {
    const claims = checkIdToken(grant.id_token, expect);
    const { expiresAt, lifetime } = idTokenTimes(claims, expect.now);
    return servedIdToken(profile.name, claims.jwt, expiresAt, lifetime);
  } catch {
    return undefined;
  }
}
