// The oidc-provider configuration of the local provider (src/demo/localProvider.ts): keys,
// accounts, scopes, features and lifetimes, from its options. Every feature an option turns on
// is off (or as oidc-provider ships it) without that option.
import { generateKeyPair, randomBytes, randomUUID } from 'node:crypto';
import { promisify } from 'node:util';
import type { Configuration } from 'oidc-provider';
import type { LocalProviderOptions } from './localProviderOptions.js';
import { clientsOf } from './localProviderClients.js';

const SCOPES = ['openid', 'email', 'profile', 'offline_access'];
const DAY = 24 * 60 * 60;

type InvalidTarget = new () => Error;

/** What extraTokenClaims sees of a token. */
interface TokenView {
  accountId?: string;
  resourceServer?: unknown;
  extra?: Record<string, unknown>;
}

export async function configuration(
  options: LocalProviderOptions,
  InvalidTarget: InvalidTarget,
): Promise<Configuration> {
  const accessTokenTtl = options.accessTokenTtl ?? 3600;
  const rotate = options.rotateRefreshToken ?? true;
  const clientCredentials = options.clientCredentialsTtl !== undefined;
  return {
    clients: clientsOf(options),
    jwks: { keys: [await rsaSigningJwk()] },
    // Dev interactions accept any login name: it becomes the subject.
    findAccount: async (_ctx: unknown, sub: string) => ({
      accountId: sub,
      claims: async () => ({ sub, email: `${sub}@example.com`, email_verified: true, name: sub }),
    }),
    scopes: SCOPES,
    claims: {
      // With step-up, the login's acr and amr in every id_token, as most providers do
      // (oidc-provider puts only the claims of a scope, or the ones asked for, into one).
      openid: options.acrValues ? ['sub', 'acr', 'amr'] : ['sub'],
      email: ['email', 'email_verified'],
      profile: ['name'],
    },
    // Put the scope's claims (email) in the id_token itself: the KMS reads the email from it.
    conformIdTokenClaims: false,
    pkce: { required: () => true },
    ...(options.standardRefreshTokens ? {} : { issueRefreshToken: async () => true }),
    rotateRefreshToken: () => rotate,
    extraTokenClaims: async (_ctx: unknown, token: TokenView) => extraClaims(token),
    // acr_values_supported, and an `acr` in id_tokens (oidc-provider drops it when this is empty).
    ...(options.acrValues ? { acrValues: options.acrValues } : {}),
    features: {
      devInteractions: { enabled: true },
      deviceFlow: { enabled: true },
      revocation: { enabled: true },
      introspection: { enabled: true },
      resourceIndicators: resourceIndicators(options, accessTokenTtl, InvalidTarget),
      ...(clientCredentials ? { clientCredentials: { enabled: true } } : {}),
      ...(options.dpop ? { dPoP: dpopFeature(options.dpop.requireNonce ?? false) } : {}),
    },
    // Every TTL is set so oidc-provider does not complain about its defaults.
    ttl: {
      AccessToken: accessTokenTtl,
      IdToken: options.idTokenTtl ?? accessTokenTtl,
      RefreshToken: options.refreshTokenTtl ?? 14 * DAY,
      AuthorizationCode: 60,
      DeviceCode: options.deviceCodeTtl ?? 600,
      Interaction: 3600,
      Session: 14 * DAY,
      Grant: 14 * DAY,
      ...(clientCredentials ? { ClientCredentials: options.clientCredentialsTtl } : {}),
    },
  };
}

/**
 * The KMS also wants an email in the JWT access tokens issued for a resource. Claims a custom
 * grant put on the token before saving it (token exchange's `act`) are kept: oidc-provider
 * replaces `extra` with what this returns.
 */
function extraClaims(token: TokenView): Record<string, unknown> | undefined {
  const email = token.resourceServer && token.accountId && `${token.accountId}@example.com`;
  if (!email && !token.extra) return undefined;
  return { ...token.extra, ...(email ? { email } : {}) };
}

/**
 * RFC 9449. oidc-provider 9 accepts DPoP proofs from any client already; the option adds the
 * DPoP-only client and, with requireNonce, makes every proof carry the server's nonce (§8).
 */
function dpopFeature(requireNonce: boolean): Record<string, unknown> {
  if (!requireNonce) return { enabled: true };
  return { enabled: true, nonceSecret: randomBytes(32), requireNonce: () => true };
}

/** RFC 8707: each known resource gets JWT access tokens with that audience; others are refused. */
function resourceIndicators(
  options: LocalProviderOptions,
  accessTokenTtl: number,
  InvalidTarget: InvalidTarget,
): Record<string, unknown> {
  const resources = options.resources ?? [];
  const scope = (options.resourceScopes ?? SCOPES).join(' ');
  return {
    enabled: resources.length > 0,
    getResourceServerInfo: async (_ctx: unknown, resource: string) => {
      if (!resources.includes(resource)) throw new InvalidTarget();
      return {
        scope,
        audience: resource,
        accessTokenFormat: 'jwt',
        accessTokenTTL: accessTokenTtl,
        jwt: { sign: { alg: 'RS256' } },
      };
    },
  };
}

/** A fresh RS256 key per start: the KMS requires a signed JWT with a `kid`. */
async function rsaSigningJwk(): Promise<Record<string, unknown>> {
  const { privateKey } = await promisify(generateKeyPair)('rsa', { modulusLength: 2048 });
  return { ...privateKey.export({ format: 'jwk' }), kid: randomUUID(), alg: 'RS256', use: 'sig' };
}
