import type { Logger } from './logger.js';
import type { Profile } from '../config/profile.js';
import { AgentError } from '../rpc/jsonRpc.js';
import type { GrantKeeper } from './grantKeeper.js';
import { refreshExpectations } from './idExpectations.js';
import { keepsLogin, lifetimeEnded } from './refreshFailures.js';
import type { ProviderClient } from '../provider/providerClient.js';
import { classifyProviderError, type ProviderFailure } from '../provider/providerErrors.js';
import { toTokenSet, type TokenSet } from '../provider/tokenSet.js';
import type { TokenTarget } from '../provider/tokenTarget.js';
import type { StoredGrant } from './stores/tokenStore.js';

/** A refresh: the tokens, or why not with the grant it sent (null: no login in the store). */
export type RefreshOutcome =
  | { set: TokenSet }
  | { grant: null }
  | { grant: StoredGrant; failure: ProviderFailure | AgentError };

export interface RefreshParts {
  grants: GrantKeeper;
  provider: ProviderClient;
  profile: Profile;
  log: Logger;
}

/**
 * One refresh with the login as the store holds it now: another agent sharing the store may have
 * rotated the refresh token since this one last used it, and a rotating provider (oidc-provider)
 * ends the whole login when a rotated-away refresh token comes back. A refresh the provider refuses
 * (a 4xx) reads the store again first: a newer refresh token there (another agent refreshed while
 * this request was on its way) is tried once, instead of declaring the login dead.
 */
export async function refreshStoredGrant(
  parts: RefreshParts,
  target: TokenTarget,
): Promise<RefreshOutcome> {
  let grant = await parts.grants.reread();
  if (grant === null) return { grant };
  // A login whose lifetime ended is not used (the session's timer revokes and forgets it).
  if (grant.ends_at !== undefined && grant.ends_at * 1000 <= Date.now())
    return { grant, failure: lifetimeEnded(parts.profile.name, grant.ends_at) };
  for (let retried = false; ; retried = true) {
    let failure: ProviderFailure | AgentError;
    try {
      return { set: await refreshWith(parts, grant, target) };
    } catch (err) {
      if (err instanceof AgentError) return { grant, failure: err };
      failure = classifyProviderError(err, [grant.refresh_token, parts.profile.clientSecret]);
    }
    const newer = retried || keepsLogin(failure) ? null : await parts.grants.reread();
    if (newer === null || newer.refresh_token === grant.refresh_token) return { grant, failure };
    parts.log.info(
      { failure: failure.kind },
      'refresh refused; the store holds a newer refresh token (another agent rotated it): tried',
    );
    grant = newer;
  }
}

async function refreshWith(
  parts: RefreshParts,
  grant: StoredGrant,
  target: TokenTarget,
): Promise<TokenSet> {
  const dpop = parts.grants.dpopKeyOf(grant);
  const tokens = await parts.provider.refresh(grant.refresh_token, target, dpop);
  // A rotated refresh token reaches the store before anyone is answered, whatever else the
  // answer holds.
  const rotated = tokens.response.refresh_token;
  if (rotated && rotated !== grant.refresh_token) {
    const savedAt = Math.floor(Date.now() / 1000);
    await parts.grants.save({ ...grant, refresh_token: rotated, saved_at: savedAt });
  }
  return toTokenSet(tokens, refreshExpectations(parts.profile, grant), 'drop');
}
