import { PROFILE_ENDPOINTS, type Profile } from './profile.js';

/** What a reload changed in one profile, and what the daemon must therefore forget. */
export interface ProfileChanges {
  /** The fields that differ, for the log; empty when the profile is unchanged. */
  changed: (keyof Profile)[];
  /** Cached tokens were obtained with other settings (endpoints, client, scopes, …): drop them. */
  dropsTokens: boolean;
  /** The store key differs: the stored login belongs to other endpoints and must not be used. */
  dropsLogin: boolean;
}

/**
 * Fields a reload may change without touching the session: where the profile came from, and what
 * only the next login uses (how it listens, the step-up it asks for).
 */
const SESSION_NEUTRAL: readonly (keyof Profile)[] = [
  'source',
  'sourceKind',
  'redirectUrl',
  'acrValues',
  'maxAge',
  'tokenFile',
  // Control settings: the next login's lifetime, the next client's confirmation, delegations.
  'maxLifetime',
  'confirm',
  'tokenExchange',
];

/** Only fields the session does not depend on changed: the running session adopts the new profile as it is. */
export function keepsSession(changes: ProfileChanges): boolean {
  return changes.changed.every((field) => SESSION_NEUTRAL.includes(field));
}

/** Fields that shape the tokens a profile gets: a change to any makes its cached tokens wrong. */
const TOKEN_FIELDS: readonly (keyof Profile)[] = [
  ...PROFILE_ENDPOINTS,
  'clientId',
  'clientSecret',
  'tokenEndpointAuthMethod',
  'privateKeyFile',
  'grant',
  'dpop',
  'scopes',
  'audience',
  'resource',
  'extraAuthParams',
  'token',
  'servedKind',
  'storeKey',
];

/** Compares the profile before and after a reload (pure: the caller acts on the answer). */
export function profileChanges(before: Profile, after: Profile): ProfileChanges {
  const fields = new Set([...Object.keys(before), ...Object.keys(after)] as (keyof Profile)[]);
  const changed = [...fields].filter(
    (field) => canonical(before[field]) !== canonical(after[field]),
  );
  return {
    changed,
    dropsTokens: changed.some((field) => TOKEN_FIELDS.includes(field)),
    dropsLogin: changed.includes('storeKey'),
  };
}

/** Values as comparable text; a table's key order (extra_auth_params) is not a change. */
function canonical(value: unknown): string | undefined {
  if (typeof value !== 'object' || value === null || Array.isArray(value))
    return JSON.stringify(value);
  return JSON.stringify(Object.entries(value).sort(([a], [b]) => (a < b ? -1 : 1)));
}
