// A real OpenID Connect provider on loopback (oidc-provider), for tests and `kms-agent demo`.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { ProviderContext } from 'oidc-provider';
import { configuration } from './localProviderConfig.js';
import type { LocalProviderOptions } from './localProviderOptions.js';
import { answerStepUpLogin } from './localProviderLogin.js';
import { silenceProviderNotices } from './providerNotices.js';

export {
  LOCAL_CONFIDENTIAL_CLIENT_ID,
  LOCAL_CONFIDENTIAL_CLIENT_SECRET,
  LOCAL_DPOP_CLIENT_ID,
  LOCAL_PUBLIC_CLIENT_ID,
  LOCAL_REDIRECT_URIS,
} from './localProviderClients.js';

export type { CustomGrant, LocalProviderOptions } from './localProviderOptions.js';

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

export async function startLocalProvider(
  options: LocalProviderOptions = {},
): Promise<LocalProvider> {
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
        ctx.body = fault.body ?? {
          error: 'server_error',
          error_description: 'fault injected by the test',
        };
        return;
      }
      if (stepUp && ctx.method === 'POST' && ctx.path.startsWith('/interaction/')) {
        if (await answerStepUpLogin(provider, ctx, (form ??= await readForm(ctx)), stepUp)) return;
      }
      await next();
      if (options.deviceInterval !== undefined)
        advertiseDeviceInterval(ctx, options.deviceInterval);
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
  if (
    ctx.method === 'POST' &&
    ctx.path === '/device/auth' &&
    ctx.status === 200 &&
    body &&
    typeof body === 'object'
  ) {
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
