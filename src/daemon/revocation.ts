import type { LogoutOutcome } from '../rpc/methods.js';
import type { Profile } from '../config/profile.js';
import type { ProviderClient } from '../provider/providerClient.js';
import { classifyProviderError } from '../provider/providerErrors.js';
import type { StoredGrant } from './stores/tokenStore.js';

/**
 * RFC 7009 at logout. The outcome says plainly what happened at the provider: a refused or
 * impossible revocation leaves the refresh token valid there until it expires, and the user must
 * hear that from `logout`, not only from agent.log.
 */
export async function revokeGrant(
  profile: Profile,
  provider: ProviderClient,
  grant: StoredGrant | null,
): Promise<LogoutOutcome> {
  if (grant === null) return { profile: profile.name, revocation: 'no_refresh_token' };
  try {
    const revoked = await provider.revoke(grant.refresh_token);
    return { profile: profile.name, revocation: revoked ? 'revoked' : 'unsupported' };
  } catch (err) {
    const failure = classifyProviderError(err, [grant.refresh_token, profile.clientSecret]);
    return {
      profile: profile.name,
      revocation: failure.kind === 'transient' ? 'unreachable' : 'refused',
      detail: failure.detail,
    };
  }
}
