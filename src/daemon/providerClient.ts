import * as oidc from 'openid-client';
import type { Profile } from './profile.js';
import { toTokenSet, type RawTokenResponse, type TokenSet } from './tokenSet.js';
import { MAIN_TARGET, type TokenTarget } from './tokenTarget.js';

/** No provider call may take longer than this; a hung provider must not hang the agent. */
export const PROVIDER_TIMEOUT_SECONDS = 10;

export interface DeviceStart {
  response: oidc.DeviceAuthorizationResponse;
  url: string;
}

function isLoopbackHttp(url: string | undefined): boolean {
  if (!url) return false;
  const { protocol, hostname } = new URL(url);
  return protocol === 'http:' && ['localhost', '127.0.0.1', '[::1]', '::1'].includes(hostname);
}

function clientAuth(profile: Profile): oidc.ClientAuth {
  switch (profile.tokenEndpointAuthMethod) {
    case 'client_secret_basic':
      return oidc.ClientSecretBasic(profile.clientSecret);
    case 'client_secret_post':
      return oidc.ClientSecretPost(profile.clientSecret);
    default:
      return oidc.None();
  }
}

/**
 * The one place that talks to the identity provider, through openid-client. With `issuer` set it
 * uses discovery and openid-client's id_token claim checks. Without it (the Entra/Auth0 explicit-URL
 * profiles of the Cosmian CLI) the issuer is unknown, so the id_token is taken from the raw response
 * instead of being checked against a guessed issuer: it came over TLS from the configured token URL.
 */
export class ProviderClient {
  private discovered?: Promise<oidc.Configuration>;

  constructor(readonly profile: Profile) {}

  /**
   * Extra parameters for authorization and token requests. The profile's `resource` (RFC 8707) and
   * `audience` (the parameter of Auth0 and the like) go on every request, so that a refresh token is
   * bound to them from the login on. A target's audience replaces both: it is always sent as
   * `resource`, and as `audience` too when the profile shows its provider uses that parameter.
   */
  private targetParams(target: TokenTarget = MAIN_TARGET): Record<string, string> {
    const params: Record<string, string> = {};
    const resource = target.audience ?? this.profile.resource;
    const audience = this.profile.audience === undefined ? undefined : (target.audience ?? this.profile.audience);
    if (resource) params.resource = resource;
    if (audience) params.audience = audience;
    if (target.scope) params.scope = target.scope;
    return params;
  }

  private insecure(): boolean {
    const p = this.profile;
    return [p.issuer, p.authorizeUrl, p.tokenUrl, p.revocationUrl, p.deviceAuthorizationUrl].some(isLoopbackHttp);
  }

  private prepare(config: oidc.Configuration): oidc.Configuration {
    config.timeout = PROVIDER_TIMEOUT_SECONDS;
    if (this.insecure()) oidc.allowInsecureRequests(config);
    return config;
  }

  private explicitMetadata(): oidc.ServerMetadata {
    const p = this.profile;
    return {
      issuer: new URL(p.tokenUrl!).origin,
      authorization_endpoint: p.authorizeUrl!,
      token_endpoint: p.tokenUrl!,
      ...(p.revocationUrl ? { revocation_endpoint: p.revocationUrl } : {}),
      ...(p.deviceAuthorizationUrl ? { device_authorization_endpoint: p.deviceAuthorizationUrl } : {}),
    };
  }

  private discover(): Promise<oidc.Configuration> {
    const p = this.profile;
    this.discovered ??= oidc
      .discovery(new URL(p.issuer!), p.clientId, undefined, clientAuth(p), {
        execute: this.insecure() ? [oidc.allowInsecureRequests] : [],
        timeout: PROVIDER_TIMEOUT_SECONDS,
      })
      .then((found) => {
        // Endpoints set explicitly in the profile win over discovered ones.
        const { supportsPKCE: _helper, ...discovered } = found.serverMetadata();
        const server: oidc.ServerMetadata = {
          ...discovered,
          ...(p.authorizeUrl ? { authorization_endpoint: p.authorizeUrl } : {}),
          ...(p.tokenUrl ? { token_endpoint: p.tokenUrl } : {}),
          ...(p.revocationUrl ? { revocation_endpoint: p.revocationUrl } : {}),
          ...(p.deviceAuthorizationUrl ? { device_authorization_endpoint: p.deviceAuthorizationUrl } : {}),
        };
        return this.prepare(new oidc.Configuration(server, p.clientId, undefined, clientAuth(p)));
      });
    // A failed discovery is retried on the next call instead of being remembered forever.
    this.discovered.catch(() => (this.discovered = undefined));
    return this.discovered;
  }

  /**
   * A configuration for one token request. In explicit mode the id_token is lifted out of the raw
   * response before openid-client sees it, and handed back through `stash`.
   */
  private async configFor(stash: { idToken?: string }): Promise<oidc.Configuration> {
    if (this.profile.issuer) return this.discover();
    const p = this.profile;
    const config = this.prepare(new oidc.Configuration(this.explicitMetadata(), p.clientId, undefined, clientAuth(p)));
    config[oidc.customFetch] = async (url, options) => {
      const response = await fetch(url, options as RequestInit);
      if (url !== p.tokenUrl || !response.ok) return response;
      const body = (await response.json()) as Record<string, unknown>;
      if (typeof body.id_token === 'string') stash.idToken = body.id_token;
      delete body.id_token;
      const headers = new Headers(response.headers);
      headers.delete('content-length');
      headers.delete('content-encoding');
      return new Response(JSON.stringify(body), { status: response.status, headers });
    };
    return config;
  }

  async authorizationUrl(checks: { state: string; codeChallenge: string }): Promise<URL> {
    const config = await this.configFor({});
    return oidc.buildAuthorizationUrl(config, {
      redirect_uri: this.profile.redirectUrl,
      scope: this.profile.scopes.join(' '),
      state: checks.state,
      code_challenge: checks.codeChallenge,
      code_challenge_method: 'S256',
      ...this.targetParams(),
    });
  }

  async exchangeCode(callbackUrl: URL, checks: { codeVerifier: string; state: string }): Promise<TokenSet> {
    const stash: { idToken?: string } = {};
    const config = await this.configFor(stash);
    const response = await oidc.authorizationCodeGrant(
      config,
      callbackUrl,
      { pkceCodeVerifier: checks.codeVerifier, expectedState: checks.state },
      this.targetParams(),
    );
    return toTokenSet(withIdToken(response, stash));
  }

  /** A refresh for the profile's main token, or for a scope/audience target with the same refresh token. */
  async refresh(refreshToken: string, target: TokenTarget = MAIN_TARGET): Promise<TokenSet> {
    const stash: { idToken?: string } = {};
    const config = await this.configFor(stash);
    const response = await oidc.refreshTokenGrant(config, refreshToken, this.targetParams(target));
    return toTokenSet(withIdToken(response, stash));
  }

  /** RFC 7009. Returns false when the provider has no revocation endpoint. */
  async revoke(refreshToken: string): Promise<boolean> {
    const config = await this.configFor({});
    if (!config.serverMetadata().revocation_endpoint) return false;
    await oidc.tokenRevocation(config, refreshToken, { token_type_hint: 'refresh_token' });
    return true;
  }

  /** RFC 8628: asks for a user code. */
  async startDevice(): Promise<DeviceStart> {
    const config = await this.configFor({});
    if (!config.serverMetadata().device_authorization_endpoint) {
      throw new DeviceFlowUnsupportedError(this.profile.name);
    }
    const response = await oidc.initiateDeviceAuthorization(config, {
      scope: this.profile.scopes.join(' '),
      ...this.targetParams(),
    });
    return { response, url: response.verification_uri_complete ?? response.verification_uri };
  }

  /** Polls at the provider's interval (honouring slow_down) until the user approves, denies or the code expires. */
  async pollDevice(start: DeviceStart, signal: AbortSignal): Promise<TokenSet> {
    const stash: { idToken?: string } = {};
    const config = await this.configFor(stash);
    const response = await oidc.pollDeviceAuthorizationGrant(config, start.response, this.targetParams(), { signal });
    return toTokenSet(withIdToken(response, stash));
  }
}

export class DeviceFlowUnsupportedError extends Error {
  constructor(profile: string) {
    super(
      `profile ${profile} has no device authorization endpoint: set device_authorization_url (or issuer, for discovery) in its config`,
    );
    this.name = 'DeviceFlowUnsupportedError';
  }
}

function withIdToken(response: oidc.TokenEndpointResponse, stash: { idToken?: string }): RawTokenResponse {
  const raw: RawTokenResponse = {
    access_token: response.access_token,
    token_type: response.token_type,
  };
  if (typeof response.expires_in === 'number') raw.expires_in = response.expires_in;
  if (response.refresh_token) raw.refresh_token = response.refresh_token;
  if (response.scope) raw.scope = response.scope;
  const idToken = response.id_token ?? stash.idToken;
  if (idToken) raw.id_token = idToken;
  return raw;
}
