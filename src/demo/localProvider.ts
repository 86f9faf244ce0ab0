// A real OpenID Connect provider on loopback (oidc-provider), for tests and `kms-agent demo`.
import { generateKeyPair, randomUUID } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { promisify } from 'node:util';
import type { Configuration, ProviderContext } from 'oidc-provider';

export const LOCAL_PUBLIC_CLIENT_ID = 'kms-agent-test';
export const LOCAL_CONFIDENTIAL_CLIENT_ID = 'kms-agent-confidential';
export const LOCAL_CONFIDENTIAL_CLIENT_SECRET = 'test-secret-kms-agent-confidential';
export const LOCAL_REDIRECT_URIS = [
  'http://localhost:17899/authorization',
  'http://127.0.0.1:17899/authorization',
];

const SCOPES = ['openid', 'email', 'profile', 'offline_access'];
const GRANT_TYPES = ['authorization_code', 'refresh_token', 'urn:ietf:params:oauth:grant-type:device_code'];
const DAY = 24 * 60 * 60;

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
  /** Client metadata appended to the two default clients. */
  clients?: Record<string, unknown>[];
  /** RFC 8707 resource indicators; each gets JWT access tokens with that audience. */
  resources?: string[];
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
  /** Hide oidc-provider's console notices; default true. */
  quiet?: boolean;
}

export interface LocalProviderStats {
  requests: number;
  byPath: Record<string, number>;
  /** Requests to /token, by grant_type. */
  grants: Record<string, number>;
  revocations: number;
}

/** Answer with this instead of the provider, or 'hang' to never answer (until close). */
export type Fault = { status: number; body?: unknown } | 'hang';

/** Sees every request first; on POST /token, `ctx.state.grantType` holds the grant type. */
export type FaultHook = (ctx: ProviderContext) => Fault | undefined | Promise<Fault | undefined>;

export interface LocalProvider {
  readonly issuer: string;
  readonly jwksUri: string;
  readonly port: number;
  readonly stats: LocalProviderStats;
  resetStats(): void;
  setFault(hook: FaultHook | null): void;
  close(): Promise<void>;
}

export async function startLocalProvider(options: LocalProviderOptions = {}): Promise<LocalProvider> {
  const releaseConsole = options.quiet === false ? () => {} : silenceProviderNotices();
  try {
    // Optional dependency: only the demo and the tests load it.
    const { default: Provider, errors } = await import('oidc-provider');
    const server = createServer();
    const port = await listenOnLoopback(server, options.port ?? 0);
    const issuer = `http://127.0.0.1:${port}${options.issuerPath ?? ''}`;
    const provider = new Provider(issuer, await configuration(options, errors.InvalidTarget));

    let stats = emptyStats();
    let faultHook: FaultHook | null = null;
    provider.use(async (ctx, next) => {
      stats.requests += 1;
      stats.byPath[ctx.path] = (stats.byPath[ctx.path] ?? 0) + 1;
      if (ctx.method === 'POST' && ctx.path === '/token') {
        const grantType = await readTokenRequestGrantType(ctx);
        ctx.state.grantType = grantType;
        stats.grants[grantType] = (stats.grants[grantType] ?? 0) + 1;
      }
      if (ctx.method === 'POST' && ctx.path === '/token/revocation') stats.revocations += 1;

      const fault = await faultHook?.(ctx);
      if (fault === 'hang') return new Promise<void>(() => {});
      if (fault) {
        ctx.status = fault.status;
        ctx.body = fault.body ?? { error: 'server_error', error_description: 'fault injected by the test' };
        return;
      }
      await next();
      if (options.deviceInterval !== undefined) advertiseDeviceInterval(ctx, options.deviceInterval);
    });
    server.on('request', provider.callback());

    return {
      issuer,
      jwksUri: `http://127.0.0.1:${port}/jwks`,
      port,
      get stats() {
        return stats;
      },
      resetStats: () => {
        stats = emptyStats();
      },
      setFault: (hook) => {
        faultHook = hook;
      },
      close: async () => {
        await closeServer(server);
        releaseConsole();
      },
    };
  } catch (error) {
    releaseConsole();
    throw error;
  }
}

async function configuration(
  options: LocalProviderOptions,
  InvalidTarget: new () => Error,
): Promise<Configuration> {
  const accessTokenTtl = options.accessTokenTtl ?? 3600;
  const rotate = options.rotateRefreshToken ?? true;
  return {
    clients: clientsOf(options),
    jwks: { keys: [await rsaSigningJwk()] },
    // Dev interactions accept any login name: it becomes the subject.
    findAccount: async (_ctx: unknown, sub: string) => ({
      accountId: sub,
      claims: async () => ({ sub, email: `${sub}@example.com`, email_verified: true, name: sub }),
    }),
    scopes: SCOPES,
    claims: { openid: ['sub'], email: ['email', 'email_verified'], profile: ['name'] },
    // Put the scope's claims (email) in the id_token itself: the KMS reads the email from it.
    conformIdTokenClaims: false,
    pkce: { required: () => true },
    ...(options.standardRefreshTokens ? {} : { issueRefreshToken: async () => true }),
    rotateRefreshToken: () => rotate,
    // The KMS also wants an email in the JWT access tokens issued for a resource.
    extraTokenClaims: async (_ctx: unknown, token: { accountId?: string; resourceServer?: unknown }) =>
      token.resourceServer && token.accountId ? { email: `${token.accountId}@example.com` } : undefined,
    features: {
      devInteractions: { enabled: true },
      deviceFlow: { enabled: true },
      revocation: { enabled: true },
      introspection: { enabled: true },
      resourceIndicators: resourceIndicators(options.resources ?? [], accessTokenTtl, InvalidTarget),
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
    },
  };
}

/** A public (native) and a confidential client, with the test's extra ones. */
function clientsOf(options: LocalProviderOptions): Record<string, unknown>[] {
  const common = { grant_types: GRANT_TYPES, response_types: ['code'], redirect_uris: options.redirectUris ?? LOCAL_REDIRECT_URIS };
  return [
    { client_id: LOCAL_PUBLIC_CLIENT_ID, application_type: 'native', token_endpoint_auth_method: 'none', ...common },
    {
      client_id: LOCAL_CONFIDENTIAL_CLIENT_ID,
      client_secret: LOCAL_CONFIDENTIAL_CLIENT_SECRET,
      token_endpoint_auth_method: 'client_secret_basic',
      ...common,
    },
    ...(options.clients ?? []),
  ];
}

/** RFC 8707: each known resource gets JWT access tokens with that audience; any other is refused. */
function resourceIndicators(resources: string[], accessTokenTtl: number, InvalidTarget: new () => Error): Record<string, unknown> {
  return {
    enabled: resources.length > 0,
    getResourceServerInfo: async (_ctx: unknown, resource: string) => {
      if (!resources.includes(resource)) throw new InvalidTarget();
      return { scope: SCOPES.join(' '), audience: resource, accessTokenFormat: 'jwt', accessTokenTTL: accessTokenTtl, jwt: { sign: { alg: 'RS256' } } };
    },
  };
}

/** A fresh RS256 key per start: the KMS requires a signed JWT with a `kid`. */
async function rsaSigningJwk(): Promise<Record<string, unknown>> {
  const { privateKey } = await promisify(generateKeyPair)('rsa', { modulusLength: 2048 });
  return { ...privateKey.export({ format: 'jwk' }), kid: randomUUID(), alg: 'RS256', use: 'sig' };
}

/**
 * Reads the form body of POST /token ahead of the provider, so grants can be counted and faults
 * chosen by grant type; the provider then parses `ctx.request.body` since the stream is consumed.
 */
async function readTokenRequestGrantType(ctx: ProviderContext): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of ctx.req) chunks.push(chunk as Buffer);
  const body = Buffer.concat(chunks).toString('utf8');
  ctx.request.body = body;
  return new URLSearchParams(body).get('grant_type') ?? '(none)';
}

function advertiseDeviceInterval(ctx: ProviderContext, interval: number): void {
  const body = ctx.body;
  if (ctx.method === 'POST' && ctx.path === '/device/auth' && ctx.status === 200 && body && typeof body === 'object') {
    ctx.body = { ...body, interval };
  }
}

function emptyStats(): LocalProviderStats {
  return { requests: 0, byPath: {}, grants: {}, revocations: 0 };
}

function listenOnLoopback(server: Server, port: number): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => resolve((server.address() as AddressInfo).port));
  });
}

/** Closes keep-alive and hung connections too, so the test process can exit. */
function closeServer(server: Server): Promise<void> {
  return new Promise((resolve, reject) => {
    server.close((error) => (error ? reject(error) : resolve()));
    server.closeAllConnections();
  });
}

// oidc-provider prints its notices through console.warn/info, some once per process at import
// (e.g. "Unsupported runtime" on Node 20) and some on first use; only those lines are dropped,
// while at least one quiet provider is running.
const NOTICE = /oidc-provider (NOTICE|WARNING):/;
let quietProviders = 0;
let restoreConsole = () => {};

function silenceProviderNotices(): () => void {
  if (quietProviders++ === 0) {
    const { warn, info } = console;
    const filtered =
      (print: (...args: unknown[]) => void) =>
      (...args: unknown[]) => {
        if (!(typeof args[0] === 'string' && NOTICE.test(args[0]))) print.apply(console, args);
      };
    console.warn = filtered(warn);
    console.info = filtered(info);
    restoreConsole = () => {
      console.warn = warn;
      console.info = info;
    };
  }
  let released = false;
  return () => {
    if (released) return;
    released = true;
    if (--quietProviders === 0) restoreConsole();
  };
}
