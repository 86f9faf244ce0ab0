// Plays a person's browser against Glewlwyd without a browser, doing what its login page
// (login.html) does: POST /api/auth/ with the password, PUT /api/auth/grant/CLIENT for consent, then
// back to the page's callback_url with `g_continue`. One cookie jar per play, like a fresh browser.

/**
 * Authenticates `user` and consents to what the authorization request asks; returns the final
 * redirect to the client's redirect_uri (code, state, iss, or an error) without requesting it.
 */
export async function playAuthorization(authorizationUrl, user) {
  const redirectUri = new URL(authorizationUrl).searchParams.get('redirect_uri');
  if (!redirectUri) throw new Error('the authorization URL has no redirect_uri');
  const browser = new Browser();
  let location = await browser.redirect(authorizationUrl);
  for (let step = 0; step < 3; step += 1) {
    if (location.startsWith(redirectUri)) return location;
    const page = loginPage(location);
    await browser.logInAndConsent(page, user);
    location = await browser.redirect(withContinue(page.callbackUrl));
  }
  throw new Error(
    `glewlwyd kept sending the browser to ${new URL(location).pathname} instead of the redirect_uri`,
  );
}

/** Approves an RFC 8628 user code: the verification page, login and consent, then "continue". */
export async function approveDevice(deviceUrl, userCode, user) {
  const browser = new Browser();
  const page = loginPage(
    await browser.redirect(`${deviceUrl}?code=${encodeURIComponent(userCode)}`),
  );
  if (page.prompt) throw new Error(`glewlwyd refused the user code ${userCode}: ${page.prompt}`);
  await browser.logInAndConsent(page, user);
  const done = loginPage(await browser.redirect(withContinue(page.callbackUrl)));
  // login.html shows its success message for prompt=deviceComplete, an error for deviceCodeError or deviceServerError.
  if (done.prompt !== 'deviceComplete')
    throw new Error(`glewlwyd did not approve the user code ${userCode}: prompt=${done.prompt}`);
}

/** The parameters Glewlwyd gives its login page. */
function loginPage(location) {
  const url = new URL(location);
  if (!url.pathname.endsWith('/login.html'))
    throw new Error(`expected glewlwyd's login page, was sent to ${url.origin}${url.pathname}`);
  const params = url.searchParams;
  return {
    origin: url.origin,
    clientId: params.get('client_id'),
    scope: params.get('scope'),
    callbackUrl: params.get('callback_url'),
    prompt: params.get('prompt'),
  };
}

function withContinue(callbackUrl) {
  return callbackUrl + (callbackUrl.includes('?') ? '&g_continue' : '?g_continue');
}

class Browser {
  cookies = new Map();

  /** GETs a URL that must answer with a redirect; returns where to. */
  async redirect(url) {
    const response = await this.request(url, { method: 'GET' });
    const location = response.headers.get('location');
    if (response.status < 300 || response.status > 399 || !location) {
      throw new Error(
        `glewlwyd answered ${new URL(url).pathname} with ${response.status} ${(await response.text()).slice(0, 300)}`,
      );
    }
    return new URL(location, url).href;
  }

  async logInAndConsent(page, user) {
    await this.json(`${page.origin}/api/auth/`, 'POST', {
      username: user.login,
      password: user.password,
    });
    // The consent screen grants the requested scopes, space-separated as its login.js sends them.
    if (page.clientId && page.scope)
      await this.json(`${page.origin}/api/auth/grant/${encodeURIComponent(page.clientId)}`, 'PUT', {
        scope: page.scope,
      });
  }

  async json(url, method, body) {
    const response = await this.request(url, {
      method,
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
    if (response.status !== 200)
      throw new Error(
        `glewlwyd answered ${method} ${new URL(url).pathname} with ${response.status} ${await response.text()}`,
      );
    await response.arrayBuffer();
  }

  async request(url, init) {
    const cookie = [...this.cookies].map(([name, value]) => `${name}=${value}`).join('; ');
    const response = await fetch(url, {
      ...init,
      redirect: 'manual',
      headers: { ...init.headers, ...(cookie ? { cookie } : {}) },
    });
    for (const line of response.headers.getSetCookie()) {
      const [pair] = line.split(';');
      const eq = pair.indexOf('=');
      this.cookies.set(pair.slice(0, eq).trim(), pair.slice(eq + 1).trim());
    }
    return response;
  }
}
