import type { Profile } from '../config/profile.js';
import type { IdTokenExpectations } from '../provider/idTokenRules.js';
import type { StepUp } from '../provider/stepUp.js';
import type { StoredGrant } from './stores/tokenStore.js';

/** The configured (and discovered) issuer, else the one a previous login's id_token named. */
export function knownIssuer(
  profile: Profile,
  grant: StoredGrant | null | undefined,
): string | undefined {
  return profile.issuer ?? grant?.issuer ?? undefined;
}

/** What a refreshed id_token is held to: this profile's client and issuer, and the login's subject and nonce. */
export function refreshExpectations(
  profile: Profile,
  grant: StoredGrant | null,
): IdTokenExpectations {
  return {
    clientId: profile.clientId,
    issuer: knownIssuer(profile, grant),
    nonce: grant?.nonce,
    nonceRequired: false,
    subject: grant?.subject,
    allowHmac: profile.clientSecret !== undefined,
    now: Math.floor(Date.now() / 1000),
  };
}

/**
 * What a login's id_token is held to: the nonce its authorization request sent (if any), the
 * issuer already known, and the step-up it asked for; a new login may be someone else, so no
 * subject.
 */
export function loginExpectations(
  profile: Profile,
  previous: StoredGrant | null,
  nonce: string | undefined,
  stepUp: StepUp,
): IdTokenExpectations {
  return {
    ...refreshExpectations(profile, null),
    issuer: knownIssuer(profile, previous),
    nonce,
    nonceRequired: nonce !== undefined,
    acrValues: stepUp.acrValues,
    maxAge: stepUp.maxAge,
  };
}
