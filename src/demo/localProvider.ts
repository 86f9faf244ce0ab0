// A real OpenID Connect provider on loopback (oidc-provider), for tests and `kms-agent demo`.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { GrantHandler, ProviderContext } from 'oidc-provider';
import { configuration } from './localProviderConfig.js';
import { answerStepUpLogin } from './localProviderLogin.js';
import { silenceProviderNotices } from './providerNotices.js';

export {
  LOCAL_CONFIDENTIAL_CLIENT_ID,
  LOCAL_CONFIDENTIAL_CLIENT_SECRET,
  LOCAL_DPOP_CLIENT_ID,
  LOCAL_PUBLIC_CLIENT_ID,
  LOCAL_REDIRECT_URIS,
} from './localProviderClients.js';

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
    for (const grant of options.grants ?? []) {
      provider.registerGrantType(grant.type, grant.handler, grant.parameters, grant.duplicates);
    }
    const stepUp = options.acrValues?.length
      ? { acrValues: options.acrValues, loginAcr: options.loginAcr }
      : undefined;

    let stats = emptyStats();
    let faultHook: FaultHook | null = null;
    provider.use(async (ctx, next) => {
      stats.requests += 1;
      stats.byPath[ctx.path] = (stats.byPath[ctx.path] ?? 0) + 1;
      let form: URLSearchParams | undefined;
      if (ctx.method === 'POST' && ctx.path === '/token') {
        form = await readForm(ctx);
        const grantType = form.get('grant_type') ?? '(none)';
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
      if (stepUp && ctx.method === 'POST' && ctx.path.startsWith('/interaction/')) {
        if (await answerStepUpLogin(provider, ctx, (form ??= await readForm(ctx)), stepUp)) return;
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

/**
 * Reads a form body ahead of the provider (to count grants, choose faults by grant type, answer
 * a login); the provider then parses `ctx.request.body`, since the stream is consumed.
 */
async function readForm(ctx: ProviderContext): Promise<URLSearchParams> {
  const chunks: Buffer[] = [];
  for await (const chunk of ctx.req) chunks.push(chunk as Buffer);
  const body = Buffer.concat(chunks).toString('utf8');
  ctx.request.body = body;
  return new URLSearchParams(body);
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
