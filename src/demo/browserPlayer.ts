// Plays what a person does in a browser against the local provider's dev login pages
// (src/demo/localProvider.ts): fetch with a cookie jar, following redirects by hand.

export interface AuthorizationPlay {
  login?: string;
  /** The dev pages accept any password. */
  password?: string;
  /** Refuse consent: the callback then carries error=access_denied. */
  deny?: boolean;
}

export interface DeviceLoginPlay {
  login?: string;
  /** Press "Abort" on the code confirmation page: the device then gets access_denied. */
  deny?: boolean;
}

/** Plays an authorization request through login and consent; returns the callback URL (code and state, or error). */
export async function playAuthorization(
  authorizationUrl: string,
  opts: AuthorizationPlay = {},
): Promise<string> {
  const redirectUri = new URL(authorizationUrl).searchParams.get('redirect_uri');
  if (!redirectUri) throw new Error('the authorization URL has no redirect_uri');
  const browser = new Browser();
  let response = await browser.get(authorizationUrl);
  for (let step = 0; step < MAX_STEPS; step += 1) {
    const location = redirectTarget(response);
    if (!location) throw await unexpectedPage(response);
    if (location.href.startsWith(redirectUri)) return location.href;
    response = await browser.visit(location, opts);
  }
  throw new Error('too many redirects during authorization');
}

/** GETs the callback URL as the browser would after the provider's redirect (e.g. to the agent's loopback listener). */
export async function deliverCallback(
  callbackUrl: string,
): Promise<{ status: number; body: string }> {
  const response = await fetch(callbackUrl);
  return { status: response.status, body: await response.text() };
}

/** Completes an RFC 8628 device login: confirm the user code, log in, consent (or abort). */
export async function playDeviceLogin(
  verificationUriComplete: string,
  opts: DeviceLoginPlay = {},
): Promise<void> {
  const browser = new Browser();
  // The page for ?user_code= is a self-submitting form carrying the code and an xsrf token.
  const codeForm = await browser.get(verificationUriComplete);
  const confirmPage = await browser.submit(codeForm, hiddenInputs(await expectPage(codeForm)));
  const confirmFields = hiddenInputs(await expectPage(confirmPage));
  if (opts.deny) {
    // The Abort button submits the same form with abort=yes.
    await expectPage(await browser.submit(confirmPage, { ...confirmFields, abort: 'yes' }));
    return;
  }
  let response = await browser.submit(confirmPage, confirmFields);
  for (let step = 0; step < MAX_STEPS; step += 1) {
    const location = redirectTarget(response);
    if (!location) {
      await expectPage(response); // the "Sign-in Success" page
      return;
    }
    response = await browser.visit(location, opts);
  }
  throw new Error('too many redirects during device login');
}

const MAX_STEPS = 10;

/** A minimal browser: one cookie jar, redirects followed by the caller, dev interaction pages answered. */
class Browser {
  private readonly cookies = new Map<string, string>();

  get(url: string | URL): Promise<Response> {
    return this.request(url, { method: 'GET' });
  }

  post(url: string | URL, fields: Record<string, string>): Promise<Response> {
    return this.request(url, { method: 'POST', body: new URLSearchParams(fields) });
  }

  /** Posts a page's form back to the URL the page came from (the provider's forms post to themselves). */
  submit(page: Response, fields: Record<string, string>): Promise<Response> {
    return this.post(page.url, fields);
  }

  /** Loads a redirect target; a dev interaction page (login or consent) is answered as the person would. */
  async visit(url: URL, opts: AuthorizationPlay): Promise<Response> {
    if (!/^\/interaction\/[^/]+$/.test(url.pathname)) return this.get(url);
    const page = await expectPage(await this.get(url));
    const prompt = /name="prompt" value="(\w+)"/.exec(page)?.[1];
    if (prompt === 'login') {
      return this.post(url, {
        prompt,
        login: opts.login ?? 'alice',
        password: opts.password ?? 'password',
      });
    }
    if (prompt === 'consent') {
      return opts.deny ? this.get(`${url.href}/abort`) : this.post(url, { prompt });
    }
    throw new Error(`unexpected interaction page at ${url.pathname}`);
  }

  private async request(url: string | URL, init: RequestInit): Promise<Response> {
    const headers = new Headers(init.headers);
    if (this.cookies.size > 0) {
      headers.set(
        'cookie',
        [...this.cookies].map(([name, value]) => `${name}=${value}`).join('; '),
      );
    }
    const response = await fetch(url, { ...init, headers, redirect: 'manual' });
    this.remember(response.headers.getSetCookie());
    return response;
  }

  // Paths and expiry dates are ignored: one short login, one site. An empty value is a deletion.
  private remember(setCookies: string[]): void {
    for (const setCookie of setCookies) {
      const [pair = ''] = setCookie.split(';');
      const separator = pair.indexOf('=');
      const name = pair.slice(0, separator).trim();
      const value = pair.slice(separator + 1).trim();
      if (value) this.cookies.set(name, value);
      else this.cookies.delete(name);
    }
  }
}

function redirectTarget(response: Response): URL | undefined {
  const location = response.headers.get('location');
  return response.status >= 300 && response.status < 400 && location
    ? new URL(location, response.url)
    : undefined;
}

async function expectPage(response: Response): Promise<string> {
  if (response.status !== 200) throw await unexpectedPage(response);
  return response.text();
}

/** Names the page by path only: queries and bodies may hold codes. */
async function unexpectedPage(response: Response): Promise<Error> {
  await response.body?.cancel();
  return new Error(`the provider answered ${response.status} at ${new URL(response.url).pathname}`);
}

function hiddenInputs(html: string): Record<string, string> {
  const fields: Record<string, string> = {};
  for (const [, name, value] of html.matchAll(
    /<input type="hidden" name="([^"]+)" value="([^"]*)"\/>/g,
  )) {
    fields[name!] = value!;
  }
  return fields;
}
