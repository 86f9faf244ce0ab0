import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { callbackPage, CALLBACK_PAGE_HEADERS } from './callbackPage.js';

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

/** SPEC §6: loopback only. `localhost` may resolve to either family, so both are bound. */
function loopbackHosts(hostname: string): string[] {
  if (hostname === '127.0.0.1') return ['127.0.0.1'];
  if (hostname === '[::1]' || hostname === '::1') return ['::1'];
  return ['127.0.0.1', '::1'];
}

/**
 * The one-shot HTTP listener at the configured redirect URL: only that path, only the state it
 * issued, a short page for the browser, closed after one use or when the login ends.
 */
export class LoopbackListener {
  private readonly servers: Server[] = [];
  private closed = false;
  private busy = false;

  private constructor(private readonly redirect: URL, private readonly state: string, private readonly onCallback: CallbackHandler) {}

  static async open(redirectUrl: string, state: string, onCallback: CallbackHandler): Promise<LoopbackListener> {
    const listener = new LoopbackListener(new URL(redirectUrl), state, onCallback);
    await listener.bindAll();
    return listener;
  }

  private async bindAll(): Promise<void> {
    const port = Number(this.redirect.port || 80);
    const hosts = loopbackHosts(this.redirect.hostname);
    for (const host of hosts) {
      const server = createServer((req, res) => void this.handle(req, res));
      server.keepAliveTimeout = 1000;
      try {
        await new Promise<void>((resolve, reject) => {
          server.once('error', reject);
          server.listen({ port, host, exclusive: true }, () => resolve());
        });
        this.servers.push(server);
      } catch (err) {
        const code = (err as NodeJS.ErrnoException).code;
        // A machine without IPv6 has no ::1; IPv4 loopback alone is then enough.
        if (host === '::1' && hosts.length > 1 && (code === 'EADDRNOTAVAIL' || code === 'EAFNOSUPPORT')) continue;
        this.close();
        throw err;
      }
    }
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', this.redirect);
    if (req.method !== 'GET' || url.pathname !== this.redirect.pathname) {
      return this.reply(res, { status: 404, title: 'Not found', detail: 'This address only receives the kms-agent login.' });
    }
    if (url.searchParams.get('state') !== this.state) {
      // A wrong state is an old tab or a forged request: refuse it and keep waiting for the real one.
      return this.reply(res, {
        status: 400,
        title: 'This login does not match',
        detail: 'The login link does not belong to the login in progress (state mismatch). Run `kms-agent login` again.',
      });
    }
    if (this.busy || this.closed) {
      return this.reply(res, { status: 409, title: 'Login already handled', detail: 'This login was already completed. You can close this tab.' });
    }
    this.busy = true;
    const outcome = await this.onCallback(url);
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
