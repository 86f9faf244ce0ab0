// oidc-provider ships no types; this covers only what src/demo uses, loosely.
declare module 'oidc-provider' {
  import type { IncomingMessage, ServerResponse } from 'node:http';

  /** The Koa context the provider hands to middleware (only the parts we read or write). */
  export interface ProviderContext {
    method: string;
    path: string;
    status: number;
    body: unknown;
    req: IncomingMessage;
    request: { body?: unknown };
    state: Record<string, unknown>;
  }

  export type ProviderMiddleware = (ctx: ProviderContext, next: () => Promise<void>) => Promise<void>;

  /** The configuration object; see the oidc-provider docs for its many keys. */
  export type Configuration = Record<string, unknown>;

  /** The OAuth error classes the provider turns into error responses. */
  export const errors: { InvalidTarget: new (description?: string) => Error };

  export default class Provider {
    constructor(issuer: string, configuration?: Configuration);
    use(middleware: ProviderMiddleware): this;
    callback(): (req: IncomingMessage, res: ServerResponse) => void;
  }
}
