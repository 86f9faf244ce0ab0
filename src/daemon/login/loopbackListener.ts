import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { callbackPage, CALLBACK_PAGE_HEADERS } from './callbackPage.js';
import { ConnectionCap } from './connectionCap.js';

export interface CallbackOutcome {
  status: number;
  title: string;
  detail: string;
}

/**
 * Handles a request at the redirect path whose `state` matched. Returns the page to show; the
 * listener closes once `done` is true (one use).
 */
export type CallbackHandler = (url: URL) => Promise<CallbackOutcome & { done: boolean }>;

/**
 * Anyone on the machine can connect to the listener while a login waits. These bounds keep a
 * flood of connections that never finish their request from taking the daemon's descriptors or
 * memory, or the browser's place (docs/SECURITY.md): a browser needs one or two connections, and
 * sends its request at once. The connection cap (connectionCap.ts) is shared by both addresses.
 */
const LISTENER_LIMITS = {
  maxConnections: 16,
  hardLimit: 64,
  firstByteMs: 2000,
  headersTimeoutMs: 5000,
  requestTimeoutMs: 10_000,
  keepAliveTimeoutMs: 1000,
  checkEveryMs: 1000,
};

const NOT_FOUND: CallbackOutcome = {
  status: 404,
  title: 'Not found',
  detail: 'This address only receives the kms-agent login.',
};
const BAD_REQUEST: CallbackOutcome = {
  status: 400,
  title: 'Bad request',
  detail: 'This address only receives the kms-agent login.',
};

/** Port 0 on both loopback addresses: tries this many ephemeral ports before giving up. */
const EPHEMERAL_TRIES = 8;

/** Loopback only. `localhost` may resolve to either family, so both are bound. */
function loopbackHosts(hostname: string): string[] {
  if (hostname === '127.0.0.1') return ['127.0.0.1'];
  if (hostname === '[::1]' || hostname === '::1') return ['::1'];
  return ['127.0.0.1', '::1'];
}

/** The request's URL, or undefined when it is not one (`GET //:99999` made `new URL` throw). */
function requestUrl(req: IncomingMessage, base: URL): URL | undefined {
  try {
    return new URL(req.url ?? '/', base);
  } catch {
    return undefined;
  }
}

/**
 * The one-shot HTTP listener at the configured redirect URL: only that path, only the state it
 * issued, a short page for the browser, closed after one use or when the login ends. Whatever a
 * request holds, it gets an answer and never an exception in the daemon.
 */
export class LoopbackListener {
  private servers: Server[] = [];
  private readonly cap = new ConnectionCap(LISTENER_LIMITS);
  private closed = false;
  private busy = false;

  private constructor(
    private redirect: URL,
    private readonly state: string,
    private readonly onCallback: CallbackHandler,
  ) {}

  /**
   * Listens at the redirect URL. Port 0 takes a free ephemeral port (RFC 8252 §7.3), the same on
   * both addresses of `localhost`; `redirectUrl` then names it, for the authorization request.
   */
  static async open(
    redirectUrl: string,
    state: string,
    onCallback: CallbackHandler,
  ): Promise<LoopbackListener> {
    const listener = new LoopbackListener(new URL(redirectUrl), state, onCallback);
    if (listener.redirect.port !== '0') {
      await listener.bindAll(Number(listener.redirect.port || 80));
      return listener;
    }
    for (let tries = 1; ; tries++) {
      try {
        await listener.bindAll(0);
        return listener;
      } catch (err) {
        // The port 127.0.0.1 got was taken on ::1: another one.
        if ((err as NodeJS.ErrnoException).code !== 'EADDRINUSE' || tries === EPHEMERAL_TRIES)
          throw err;
        listener.closed = false;
        listener.servers = [];
      }
    }
  }

  /** The redirect URL this listener answers, with the port it listens on. */
  get redirectUrl(): string {
    return this.redirect.href;
  }

  private async bindAll(wanted: number): Promise<void> {
    let port = wanted;
    const hosts = loopbackHosts(this.redirect.hostname);
    for (const host of hosts) {
      const server = this.createBoundedServer();
      try {
        await new Promise<void>((resolve, reject) => {
          server.once('error', reject);
          server.listen({ port, host, exclusive: true }, () => resolve());
        });
        this.servers.push(server);
        port = (server.address() as AddressInfo).port;
      } catch (err) {
        const code = (err as NodeJS.ErrnoException).code;
        // A machine without IPv6 has no ::1; IPv4 loopback alone is then enough.
        if (
          host === '::1' &&
          hosts.length > 1 &&
          (code === 'EADDRNOTAVAIL' || code === 'EAFNOSUPPORT')
        )
          continue;
        this.close();
        throw err;
      }
    }
    this.redirect.port = String(port);
  }

  private createBoundedServer(): Server {
    const limits = LISTENER_LIMITS;
    const server = createServer(
      {
        requestTimeout: limits.requestTimeoutMs,
        headersTimeout: limits.headersTimeoutMs,
        connectionsCheckingInterval: limits.checkEveryMs,
      },
      (req, res) => {
        this.handle(req, res).catch(() => {
          if (!res.headersSent) this.reply(res, BAD_REQUEST);
          else res.destroy();
        });
      },
    );
    this.cap.watch(server);
    server.keepAliveTimeout = limits.keepAliveTimeoutMs;
    server.on('connection', (socket) =>
      socket.setTimeout(limits.requestTimeoutMs, () => socket.destroy()),
    );
    server.on('clientError', (_err, socket) => {
      if (socket.writable)
        socket.end('HTTP/1.1 400 Bad Request\r\nConnection: close\r\nContent-Length: 0\r\n\r\n');
      else socket.destroy();
    });
    return server;
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = requestUrl(req, this.redirect);
    if (url === undefined) return this.reply(res, BAD_REQUEST);
    if (req.method !== 'GET' || url.pathname !== this.redirect.pathname)
      return this.reply(res, NOT_FOUND);
    if (url.searchParams.get('state') !== this.state) {
      // A wrong state is an old tab or a forged request: refuse it and keep waiting for the real one.
      return this.reply(res, {
        status: 400,
        title: 'This login does not match',
        detail:
          'The login link does not belong to the login in progress (state mismatch). Run `kms-agent login` again.',
      });
    }
    if (this.busy || this.closed) {
      return this.reply(res, {
        status: 409,
        title: 'Login already handled',
        detail: 'This login was already completed. You can close this tab.',
      });
    }
    this.busy = true;
    let outcome: CallbackOutcome & { done: boolean };
    try {
      outcome = await this.onCallback(url);
    } catch {
      outcome = {
        status: 500,
        title: 'Login failed',
        detail: 'kms-agent could not complete the login: run `kms-agent login` again.',
        done: true,
      };
    }
    this.reply(res, outcome);
    if (outcome.done) res.once('finish', () => this.close());
    else this.busy = false;
  }

  private reply(res: ServerResponse, outcome: CallbackOutcome): void {
    res.writeHead(outcome.status, CALLBACK_PAGE_HEADERS);
    res.end(callbackPage(outcome.status < 400, outcome.title, outcome.detail));
  }

  /**
   * Stops listening at once (the port is free again) but lets a page being written finish:
   * the login settles before its success page is sent, and the browser must still get that page.
   */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    for (const server of this.servers) {
      server.close();
      server.closeIdleConnections();
    }
  }
}
