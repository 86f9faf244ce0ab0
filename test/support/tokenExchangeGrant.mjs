// RFC 8693 token exchange as a grant of the local oidc-provider (src/demo/localProvider.ts, option
// `grants`), which has none built in: a client sends an access token this provider issued to a
// user (subject_token) and gets a new JWT access token for one known audience, with the same or a
// narrower scope, the same `sub`, and an `act` claim naming the client that asked (RFC 8693 §4.1).
import { createRemoteJWKSet, jwtVerify } from 'jose';
import { errors } from 'oidc-provider';

export const TOKEN_EXCHANGE = 'urn:ietf:params:oauth:grant-type:token-exchange';
export const ACCESS_TOKEN_TYPE = 'urn:ietf:params:oauth:token-type:access_token';

const PARAMETERS = [
  'subject_token',
  'subject_token_type',
  'actor_token',
  'actor_token_type',
  'requested_token_type',
  'audience',
  'resource',
  'scope',
];

/**
 * The grant for startLocalProvider({ grants: [tokenExchangeGrant(…)] }). Options: audiences (the
 * only `audience`/`resource` values it issues tokens for; any other is invalid_target), ttl (s,
 * default 300), refuse (every exchange gets unauthorized_client: a provider that refuses it).
 * Errors as RFC 8693 §2.2.2 says: a bad or unknown subject_token is invalid_request, a scope
 * the subject token does not have is invalid_scope. Issued tokens are Bearer (no DPoP binding).
 */
export function tokenExchangeGrant({ audiences = [], ttl = 300, refuse = false } = {}) {
  return {
    type: TOKEN_EXCHANGE,
    parameters: PARAMETERS,
    duplicates: ['audience', 'resource'],
    handler: async (ctx) => {
      if (refuse) throw new errors.UnauthorizedClient('this provider refuses every token exchange');
      const { params, client, provider } = ctx.oidc;
      checkTokenTypes(params);
      const subject = await subjectOf(ctx, params.subject_token);
      const audience = targetOf(params);
      if (!audiences.includes(audience)) {
        throw new errors.InvalidTarget(`no tokens are issued for the audience ${audience}`);
      }
      const scope = narrowedScope(params.scope, subject.scope);
      const token = new provider.AccessToken({
        accountId: subject.sub,
        client,
        scope,
        gty: 'token_exchange',
        grantId: subject.grantId,
        expiresIn: ttl,
      });
      const jwt = { sign: { alg: 'RS256' } };
      const info = { audience, scope, accessTokenFormat: 'jwt', accessTokenTTL: ttl, jwt };
      token.resourceServer = new provider.ResourceServer(audience, info);
      // The acting party, nesting the subject token's own `act` (a chain of delegations).
      token.extra = { act: { sub: client.clientId, ...(subject.act ? { act: subject.act } : {}) } };
      ctx.body = {
        access_token: await token.save(),
        issued_token_type: ACCESS_TOKEN_TYPE,
        token_type: token.tokenType,
        expires_in: token.expiration,
        scope,
      };
    },
  };
}

function checkTokenTypes(params) {
  if (!params.subject_token) throw new errors.InvalidRequest('subject_token is missing');
  if (params.subject_token_type !== ACCESS_TOKEN_TYPE) {
    throw new errors.InvalidRequest(`subject_token_type must be ${ACCESS_TOKEN_TYPE}`);
  }
  if (params.requested_token_type && params.requested_token_type !== ACCESS_TOKEN_TYPE) {
    throw new errors.InvalidRequest(`only ${ACCESS_TOKEN_TYPE} can be requested`);
  }
  if (params.actor_token) throw new errors.InvalidRequest('actor_token is not supported here');
}

/** One target: the `audience` or the `resource` (RFC 8707), not both, not several. */
function targetOf(params) {
  const targets = [params.audience, params.resource].flat().filter(Boolean);
  if (targets.length !== 1) {
    throw new errors.InvalidTarget('name exactly one audience (audience or resource)');
  }
  return targets[0];
}

/** The requested scope, if it is within the subject token's; else the subject token's whole. */
function narrowedScope(requested, granted) {
  const have = new Set(granted.split(' ').filter(Boolean));
  if (!requested) return [...have].join(' ');
  const wider = requested.split(' ').filter((scope) => !have.has(scope));
  if (wider.length) {
    throw new errors.InvalidScope("the scope is wider than the subject token's", wider.join(' '));
  }
  return requested;
}

/**
 * The user behind an access token this provider issued: an opaque one is looked up in its store
 * (so a revoked or expired one is refused), a JWT one (issued for a resource) is verified with its
 * keys. Client credentials tokens have no user and are refused.
 */
async function subjectOf(ctx, token) {
  const { provider } = ctx.oidc;
  const stored = await provider.AccessToken.find(token);
  if (stored?.isValid && stored.accountId) {
    const { accountId: sub, scope = '', grantId, extra } = stored;
    return { sub, scope, grantId, act: extra?.act };
  }
  if (token.split('.').length === 3) {
    try {
      const checks = { issuer: provider.issuer, typ: 'at+jwt' };
      const { payload } = await jwtVerify(token, keysOf(ctx), checks);
      if (payload.sub && payload.sub !== payload.client_id) {
        return { sub: payload.sub, scope: payload.scope ?? '', act: payload.act };
      }
    } catch {
      // Refused below, like any token this provider did not issue.
    }
  }
  throw new errors.InvalidRequest(
    'subject_token is not an active access token this provider issued for a user',
  );
}

const keySets = new Map();

function keysOf(ctx) {
  const url = ctx.oidc.urlFor('jwks');
  if (!keySets.has(url)) keySets.set(url, createRemoteJWKSet(new URL(url)));
  return keySets.get(url);
}
