import { AgentError } from '../rpc/jsonRpc.js';
import type { Profile } from '../config/profile.js';
import type { ProviderFailure } from '../provider/providerErrors.js';
import { loginCommand } from '../text/loginCommand.js';
import { describeTarget, type TokenTarget } from '../provider/tokenTarget.js';

/** The command that logs a profile in again, quoted. */
const loginAgain = (profile: string): string => `\`${loginCommand(profile)}\``;

export function loginRequired(profile: string, why?: string): AgentError {
  const what =
    why === undefined
      ? `not logged in to profile ${profile}`
      : `the login of profile ${profile} ended: ${why}`;
  return new AgentError('LOGIN_REQUIRED', `${what}: run ${loginAgain(profile)}`);
}

/** Why a login whose lifetime (max_lifetime, login --lifetime) ended at `endsAt` is gone. */
export function lifetimeEndedWhy(endsAt: number): string {
  return `its lifetime ended at ${new Date(endsAt * 1000).toISOString()}`;
}

export function lifetimeEnded(profile: string, endsAt: number): AgentError {
  return loginRequired(profile, lifetimeEndedWhy(endsAt));
}

/** An id_token is asked for, and the provider gives none that is still valid (OpenID Connect Core §12.2 allows a refresh without one). */
export function idTokenNotRenewed(profile: string, refusal: string | undefined): AgentError {
  const why =
    refusal ?? 'its provider issued none at login, or does not renew id_tokens on refresh';
  return new AgentError(
    'LOGIN_REQUIRED',
    `no valid id_token for profile ${profile}: ${why}; run ${loginAgain(profile)} for a new one, or set token = "access" in the profile to use its access token`,
  );
}

/** An id_token is asked of a profile whose scopes lack `openid`: no login or refresh can bring one. */
export function noOpenidScope(profile: string): AgentError {
  return new AgentError(
    'PROVIDER_ERROR',
    `profile ${profile} does not ask for the openid scope, so it gets no id_token: add "openid" to its scopes and log in again, or ask for --access`,
  );
}

/** Whether a refresh failure still lets a valid cached token be served (the provider is down or misbehaving, the login is fine). */
export function keepsLogin(failure: ProviderFailure): boolean {
  return failure.kind === 'transient' || failure.kind === 'invalid';
}

/** A failed refresh of the main token, in the words a client is told (docs/protocol.md reasons). */
export function mainRefreshError(profile: string, failure: ProviderFailure): AgentError {
  switch (failure.kind) {
    case 'transient':
      return new AgentError(
        'PROVIDER_UNREACHABLE',
        `the identity provider of profile ${profile} is unreachable (${failure.detail}) and no valid token is cached: check the network and retry`,
      );
    case 'invalid':
      return new AgentError(
        'PROVIDER_ERROR',
        `the identity provider of profile ${profile} answered, but not acceptably: ${failure.detail}`,
      );
    default:
      // Any 4xx but 429 (invalid_grant, or the bare 400/401 many providers send) ends the login.
      return loginRequired(
        profile,
        `the provider no longer accepts its refresh token (${failure.detail})`,
      );
  }
}

/** A client credentials token request that failed: there is no login to lose, only a client. */
export function clientCredentialsFailed(profile: string, failure: ProviderFailure): AgentError {
  if (failure.kind === 'transient') {
    return new AgentError(
      'PROVIDER_UNREACHABLE',
      `the identity provider of profile ${profile} is unreachable (${failure.detail}) and no valid token is cached: check the network and retry`,
    );
  }
  return new AgentError(
    'PROVIDER_ERROR',
    `the identity provider refused the client credentials of profile ${profile} (${failure.detail}): check its client_id, client_secret or private_key_file, token_endpoint_auth_method and scopes`,
  );
}

/**
 * A refused target says nothing about the login itself: the main token and the stored grant are
 * left alone. Even `invalid_grant` may only mean the user never consented to that target (Entra ID
 * answers so); if the login is really gone, the next plain `token` finds out.
 */
export function targetRefused(
  profile: string,
  scopes: readonly string[],
  failure: ProviderFailure,
  target: TokenTarget,
): AgentError {
  const what = describeTarget(target);
  if (failure.kind === 'transient') {
    return new AgentError(
      'PROVIDER_UNREACHABLE',
      `the identity provider of profile ${profile} is unreachable (${failure.detail}) and no valid token for ${what} is cached: check the network and retry`,
    );
  }
  return new AgentError(
    'PROVIDER_ERROR',
    `the identity provider refused a token for ${what} of profile ${profile} (${failure.detail})${targetHint(profile, scopes, failure, target)}`,
  );
}

/** What the user can change, for the errors whose cause is known. */
function targetHint(
  profile: string,
  scopes: readonly string[],
  failure: ProviderFailure,
  target: TokenTarget,
): string {
  const error = failure.kind === 'rejected' ? failure.error : failure.kind;
  switch (error) {
    case 'invalid_scope':
      return `: a refresh can only ask for scopes granted at login (profile ${profile} logs in with "${scopes.join(' ')}"); add the scope to the profile's scopes and log in again`;
    // oidc-provider, for one, rotates the refresh token before it checks the resource, so the
    // login may be gone too; the main token stays served until it expires either way.
    case 'invalid_target':
      return `: the provider does not know this audience, or it was not requested at login; set resource = "${target.audience ?? ''}" in profile ${profile} and log in again (some providers also end the login on this error)`;
    case 'invalid_grant':
      return `: the login may lack consent for this target; if \`kms-agent token --profile ${profile}\` fails too, run ${loginAgain(profile)}`;
    default:
      return '';
  }
}

/** Why a login brought no refresh token, naming the likely cause rather than blaming the scopes that are already there. */
export function noRefreshTokenHint(profile: Profile): string {
  if (!profile.scopes.includes('offline_access')) {
    return `the provider issued no refresh token: add "offline_access" to the scopes of profile ${profile.name}, or what your provider asks for instead (Google: extra_auth_params = { access_type = "offline", prompt = "consent" }; see docs/providers.md), and log in again; until then, log in again when the token expires`;
  }
  const prompt = profile.extraAuthParams.prompt;
  if (prompt !== undefined && !prompt.split(' ').includes('consent')) {
    return `the provider issued no refresh token: profile ${profile.name} asks for offline_access, but its extra_auth_params set prompt = "${prompt}" in place of prompt=consent, which many providers (oidc-provider, Google) need before they issue one: add consent to that prompt or remove it, and log in again; until then, log in again when the token expires`;
  }
  return `the provider issued no refresh token although profile ${profile.name} asks for offline_access${prompt === undefined ? ' with prompt=consent' : ''}: the client may not be allowed refresh tokens at the provider (Google also needs extra_auth_params = { access_type = "offline" }); until then, log in again when the token expires`;
}
