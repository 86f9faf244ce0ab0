import type * as OIDC from 'openid-client';
import { discoveredEndpointProblem } from '../config/endpointRules.js';
import type { Profile } from '../config/profile.js';
import type { ProviderTokens } from './tokenSet.js';
import { MAIN_TARGET, type TokenTarget } from './tokenTarget.js';
import { boundedFetch } from './boundedFetch.js';
import { checkedDeviceResponse, DeviceFlowUnsupportedError } from './deviceRules.js';
import { authorizationResponseIssuer } from './issuerCheck.js';
import { openidClient, type OpenidClient } from './openidClient.js';
import { ProviderRefusedError } from './providerErrors.js';
import { stepUpParams, type StepUp } from './stepUp.js';
import { clientAuth } from './clientAssertion.js';
import { liftIdToken } from './idTokenLift.js';
import type { DpopKey } from './dpopKey.js';

const TOKEN_EXCHANGE_GRANT = 'urn:ietf:params:oauth:grant-type:token-exchange';
const ACCESS_TOKEN_TYPE = 'urn:ietf:params:oauth:token-type:access_token';

/** No provider call may take longer than this; a hung provider must not hang the agent. */
export const PROVIDER_TIMEOUT_SECONDS = 10;

export interface DeviceStart {
  response: OIDC.DeviceAuthorizationResponse;
  url: string;
}

/** openid-client's option that makes a token request carry a DPoP proof of `dpop`, if any. */
async function proofs(
  oidc: OpenidClient,
  config: OIDC.Configuration,
  dpop: DpopKey | undefined,
): Promise<{ DPoP?: OIDC.DPoPHandle }> {
  return dpop ? { DPoP: await dpop.handleFor(oidc, config) } : {};
}

/**
 * The one place that talks to the identity provider, through openid-client. With `issuer` set the
 * endpoints come from discovery (each held to the same https rule as the config); without it they
 * are the profile's own, and the issuer is unknown until a login's id_token names it. Every answer
 * is read within a size bound (boundedFetch.ts) and the id_token is checked by the agent itself.
 */
export class ProviderClient {
  private discovered: Promise<OIDC.ServerMetadata> | undefined;

  constructor(readonly profile: Profile) {}

  /**
   * Parameters for authorization and token requests. The profile's `resource` (RFC 8707) and
   * `audience` (Auth0's parameter) go on every request, so that a refresh token is bound to them
   * from the login on. A target's audience replaces both: it is always sent as `resource`, and as
   * `audience` too when the profile shows its provider uses that parameter.
   */
  private targetParams(target: TokenTarget = MAIN_TARGET): Record<string, string> {
    const params: Record<string, string> = {};
    const resource = target.audience ?? this.profile.resource;
    const audience =
      this.profile.audience === undefined ? undefined : (target.audience ?? this.profile.audience);
    if (resource) params.resource = resource;
    if (audience) params.audience = audience;
    if (target.scope) params.scope = target.scope;
    return params;
  }

  private explicitMetadata(): OIDC.ServerMetadata {
    const p = this.profile;
    return {
      // openid-client needs an issuer; the explicit mode never holds anything to this placeholder.
      issuer: new URL(p.tokenUrl!).origin,
      authorization_endpoint: p.authorizeUrl!,
      token_endpoint: p.tokenUrl!,
      ...(p.revocationUrl ? { revocation_endpoint: p.revocationUrl } : {}),
      ...(p.deviceAuthorizationUrl
        ? { device_authorization_endpoint: p.deviceAuthorizationUrl }
        : {}),
    };
  }

  private async discover(): Promise<OIDC.ServerMetadata> {
    const p = this.profile;
    const oidc = await openidClient();
    // Only the metadata is kept: the client authenticates in configuration(), below.
    const found = await oidc.discovery(new URL(p.issuer!), p.clientId, undefined, oidc.None(), {
      execute: p.allowHttp ? [oidc.allowInsecureRequests] : [],
      timeout: PROVIDER_TIMEOUT_SECONDS,
      [oidc.customFetch]: (url, options) => boundedFetch(url, options as RequestInit),
    });
    // The metadata without its helper method, which is never called here.
    // eslint-disable-next-line @typescript-eslint/unbound-method
    const { supportsPKCE: _helper, ...discovered } = found.serverMetadata();
    // Endpoints set explicitly in the profile win over discovered ones.
    const server: OIDC.ServerMetadata = {
      ...discovered,
      ...(p.authorizeUrl ? { authorization_endpoint: p.authorizeUrl } : {}),
      ...(p.tokenUrl ? { token_endpoint: p.tokenUrl } : {}),
      ...(p.revocationUrl ? { revocation_endpoint: p.revocationUrl } : {}),
      ...(p.deviceAuthorizationUrl
        ? { device_authorization_endpoint: p.deviceAuthorizationUrl }
        : {}),
    };
    const problem = discoveredEndpointProblem(p.issuer!, server);
    if (problem) throw new ProviderRefusedError(problem);
    return server;
  }

  /** The provider's endpoints: discovered once (a failure is retried on the next call), or the profile's. */
  metadata(): Promise<OIDC.ServerMetadata> {
    if (!this.profile.issuer) return Promise.resolve(this.explicitMetadata());
    if (!this.discovered) {
      this.discovered = this.discover();
      this.discovered.catch(() => (this.discovered = undefined));
    }
    return this.discovered;
  }

  /** openid-client and a configuration for one request; `stash` receives the id_token lifted out of a token response. */
  private async configuration(stash?: {
    idToken?: string;
  }): Promise<{ oidc: OpenidClient; config: OIDC.Configuration }> {
    const p = this.profile;
    const oidc = await openidClient();
    const server = {
      ...(await this.metadata()),
      authorization_response_iss_parameter_supported: false,
    };
    const auth = await clientAuth(oidc, p, server.token_endpoint);
    const config = new oidc.Configuration(server, p.clientId, undefined, auth);
    config.timeout = PROVIDER_TIMEOUT_SECONDS;
    if (p.allowHttp) oidc.allowInsecureRequests(config);
    const lift = stash ? liftIdToken(stash) : undefined;
    config[oidc.customFetch] = (url, options) =>
      boundedFetch(
        url,
        options as RequestInit,
        lift && url === server.token_endpoint ? lift : undefined,
      );
    return { oidc, config };
  }

  /**
   * The authorization request to `redirectUri` (the listener's): PKCE S256, state, a nonce when it
   * asks for openid, and the profile's extra parameters.
   */
  async authorizationUrl(
    checks: { state: string; codeChallenge: string; nonce: string | undefined },
    redirectUri: string,
    stepUp: StepUp,
  ): Promise<URL> {
    const p = this.profile;
    const params: Record<string, string> = {
      redirect_uri: redirectUri,
      scope: p.scopes.join(' '),
      state: checks.state,
      code_challenge: checks.codeChallenge,
      code_challenge_method: 'S256',
      ...this.targetParams(),
      ...stepUpParams(stepUp),
    };
    if (checks.nonce !== undefined) params.nonce = checks.nonce;
    // Many providers (oidc-provider, Google) issue no refresh token without a fresh consent.
    if (p.scopes.includes('offline_access')) params.prompt = 'consent';
    for (const [name, value] of Object.entries(p.extraAuthParams)) {
      if (value === '') delete params[name];
      else params[name] = value;
    }
    const { oidc, config } = await this.configuration();
    return oidc.buildAuthorizationUrl(config, params);
  }

  /** Exchanges the code, after holding an RFC 9207 `iss` to the issuer the agent knows (if it knows one). */
  async exchangeCode(
    callbackUrl: URL,
    checks: { codeVerifier: string; state: string; knownIssuer: string | undefined },
    dpop: DpopKey | undefined,
  ): Promise<ProviderTokens> {
    const callback = authorizationResponseIssuer(
      callbackUrl,
      checks.knownIssuer,
      (await this.metadata()).authorization_response_iss_parameter_supported === true,
    );
    const stash: { idToken?: string } = {};
    const { oidc, config } = await this.configuration(stash);
    const response = await oidc.authorizationCodeGrant(
      config,
      callback,
      { pkceCodeVerifier: checks.codeVerifier, expectedState: checks.state },
      this.targetParams(),
      await proofs(oidc, config, dpop),
    );
    return { response, idToken: stash.idToken, boundTo: dpop };
  }

  /**
   * A refresh for the profile's main token, or for a scope/audience target with the same refresh
   * token; with the login's DPoP key when it has one (a public client's refresh token is bound).
   */
  async refresh(
    refreshToken: string,
    target: TokenTarget = MAIN_TARGET,
    dpop?: DpopKey,
  ): Promise<ProviderTokens> {
    const stash: { idToken?: string } = {};
    const { oidc, config } = await this.configuration(stash);
    const params = this.targetParams(target);
    const options = await proofs(oidc, config, dpop);
    const response = await oidc.refreshTokenGrant(config, refreshToken, params, options);
    return { response, idToken: stash.idToken, boundTo: dpop };
  }

  /**
   * The client credentials grant (RFC 6749 §4.4): the profile's scopes (or the target's), with
   * its audience or resource; no refresh token, no id_token.
   */
  async clientCredentials(target: TokenTarget, dpop: DpopKey | undefined): Promise<ProviderTokens> {
    const { oidc, config } = await this.configuration();
    const scope = this.profile.scopes.join(' ');
    const params = { ...(scope ? { scope } : {}), ...this.targetParams(target) };
    const options = await proofs(oidc, config, dpop);
    return { response: await oidc.clientCredentialsGrant(config, params, options), boundTo: dpop };
  }

  /**
   * RFC 8693 token exchange: `subjectToken` (the user's access token) for a new access token
   * narrowed to the target's audience and scope, for a delegation (docs/configuration.md). The
   * provider decides what the new token says (`act`, `sub`); the user's own is never handed on.
   */
  async exchange(subjectToken: string, target: TokenTarget): Promise<ProviderTokens> {
    const { oidc, config } = await this.configuration();
    const params: Record<string, string> = {
      subject_token: subjectToken,
      subject_token_type: ACCESS_TOKEN_TYPE,
      requested_token_type: ACCESS_TOKEN_TYPE,
    };
    if (target.audience) params.audience = target.audience;
    if (target.scope) params.scope = target.scope;
    return { response: await oidc.genericGrantRequest(config, TOKEN_EXCHANGE_GRANT, params) };
  }

  /** RFC 7009. Resolves false when the provider has no revocation endpoint; throws when it refuses or cannot be asked. */
  async revoke(refreshToken: string): Promise<boolean> {
    const { oidc, config } = await this.configuration();
    if (!config.serverMetadata().revocation_endpoint) return false;
    await oidc.tokenRevocation(config, refreshToken, { token_type_hint: 'refresh_token' });
    return true;
  }

  /** RFC 8628: asks for a user code; the answer is held to deviceRules.ts. */
  async startDevice(stepUp: StepUp): Promise<DeviceStart> {
    const { oidc, config } = await this.configuration();
    if (!config.serverMetadata().device_authorization_endpoint) {
      throw new DeviceFlowUnsupportedError(this.profile.name, this.profile.issuer);
    }
    const params = {
      scope: this.profile.scopes.join(' '),
      ...this.targetParams(),
      ...stepUpParams(stepUp),
    };
    const response = checkedDeviceResponse(await oidc.initiateDeviceAuthorization(config, params));
    return { response, url: response.verification_uri_complete ?? response.verification_uri };
  }

  /** Polls at the checked interval (slow_down adds to it) until approved, denied or expired. */
  async pollDevice(
    start: DeviceStart,
    signal: AbortSignal,
    dpop: DpopKey | undefined,
  ): Promise<ProviderTokens> {
    const stash: { idToken?: string } = {};
    const { oidc, config } = await this.configuration(stash);
    const response = await oidc.pollDeviceAuthorizationGrant(
      config,
      start.response,
      this.targetParams(),
      { signal, ...(await proofs(oidc, config, dpop)) },
    );
    return { response, idToken: stash.idToken, boundTo: dpop };
  }
}
