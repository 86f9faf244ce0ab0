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
    res: ServerResponse;
    request: { body?: unknown };
    state: Record<string, unknown>;
    redirect(url: string): void;
  }

  export type ProviderMiddleware = (
    ctx: ProviderContext,
    next: () => Promise<void>,
  ) => Promise<void>;

  /** A token endpoint grant's handler; it answers through `ctx.body` or throws an OAuth error. */
  export type GrantHandler = (ctx: ProviderContext) => Promise<void>;

  /** What the provider knows of an interaction (a login or consent page in progress). */
  export interface InteractionDetails {
    prompt: { name: string };
    params: Record<string, unknown>;
  }

  /** The configuration object; see the oidc-provider docs for its many keys. */
  export type Configuration = Record<string, unknown>;

  /** The OAuth error classes the provider turns into error responses. */
  export const errors: { InvalidTarget: new (description?: string) => Error };

  export default class Provider {
    constructor(issuer: string, configuration?: Configuration);
    use(middleware: ProviderMiddleware): this;
    callback(): (req: IncomingMessage, res: ServerResponse) => void;
    registerGrantType(
      type: string,
      handler: GrantHandler,
      parameters?: string[],
      duplicates?: string[],
    ): void;
    interactionDetails(req: IncomingMessage, res: ServerResponse): Promise<InteractionDetails>;
    interactionResult(
      req: IncomingMessage,
      res: ServerResponse,
      result: Record<string, unknown>,
      options?: { mergeWithLastSubmission?: boolean },
    ): Promise<string>;
  }
}
