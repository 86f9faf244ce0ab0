/** What a test, the bench or the demo can ask of the local provider (localProvider.ts). */
import type { GrantHandler } from 'oidc-provider';

/** A grant type the provider does not have, added with `provider.registerGrantType`. */
export interface CustomGrant {
  /** The `grant_type` value, e.g. urn:ietf:params:oauth:grant-type:token-exchange. */
  type: string;
  handler: GrantHandler;
  /** The request parameters it reads (others are dropped before the handler runs). */
  parameters: string[];
  /** Parameters that may appear more than once. */
  duplicates?: string[];
}

export interface LocalProviderOptions {
  /** 0 (the default) picks a free port. */
  port?: number;
  /** Seconds; default 3600. */
  accessTokenTtl?: number;
  /** Seconds; default accessTokenTtl. */
  idTokenTtl?: number;
  /** Seconds; default 14 days. */
  refreshTokenTtl?: number;
  /** Issue a new refresh token on every refresh (the old one then gives invalid_grant); default true. */
  rotateRefreshToken?: boolean;
  redirectUris?: string[];
  /** Client metadata appended to the built-in clients. */
  clients?: Record<string, unknown>[];
  /** RFC 8707 resource indicators; each gets JWT access tokens with that audience. */
  resources?: string[];
  /** The scopes each of `resources` offers; default openid, email, profile, offline_access. */
  resourceScopes?: string[];
  /** Seconds a device code lives; default 600. */
  deviceCodeTtl?: number;
  /**
   * The polling `interval` to advertise in device authorization responses. oidc-provider sends
   * none, so clients wait RFC 8628's default 5 s; tests set a shorter one.
   */
  deviceInterval?: number;
  /**
   * Refresh tokens as stock oidc-provider issues them: only for `offline_access`, which it keeps
   * only when the authorization request has prompt=consent. Default false: one for every login.
   */
  standardRefreshTokens?: boolean;
  /**
   * A path after the origin in the issuer (and so in the id_token's `iss` and the RFC 9207 `iss`
   * of authorization responses), while the endpoints stay at the root: an issuer that is not the
   * token URL's origin, as at Glewlwyd or Entra ID. Discovery then fails (it is at the root): for
   * explicit-endpoint profiles only. Default none.
   */
  issuerPath?: string;
  /**
   * Turns on the client credentials grant (features.clientCredentials); its access tokens live
   * this many seconds (ttl.ClientCredentials). The clients come from `clients`. Default off.
   */
  clientCredentialsTtl?: number;
  /**
   * DPoP (RFC 9449). oidc-provider accepts proofs from every client anyway (bound tokens, bound
   * refresh tokens for public clients); this adds the public native client LOCAL_DPOP_CLIENT_ID,
   * whose every token request must carry a proof. requireNonce: every proof must also carry the
   * server's nonce (the first request gets `use_dpop_nonce` and a DPoP-Nonce header).
   */
  dpop?: { requireNonce?: boolean };
  /**
   * Step-up: the acr values the provider supports (acr_values_supported). A login on the dev
   * pages then gets an acr (see loginAcr) and amr ["pwd"], both in its id_tokens. Default none.
   */
  acrValues?: string[];
  /**
   * The acr every login gets, whatever was asked (a provider that cannot step up). Default: the
   * first of the request's acr_values that acrValues has, else acrValues[0].
   */
  loginAcr?: string;
  /** Grant types to add (test/support has RFC 8693 token exchange); all clients may use them. */
  grants?: CustomGrant[];
  /** Hide oidc-provider's console notices; default true. */
  quiet?: boolean;
}
