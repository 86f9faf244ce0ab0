// An OpenID provider the test controls, on loopback: explicit endpoints (authorize, token, revocation,
// device), a discovery document and a JWKS, whose every answer a test may set per request: the token
// response (JSON, raw bytes, any status or size, streamed), the id_token's header and claims (RS256
// with a kid, HS256, alg none), the authorization redirect's query, device authorization responses.
// Every request is recorded (path, query, form body) for the assertions. Its /authorize answers with
// the redirect straight away, so test/support/browser.mjs completes `kms-agent login` against it.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { createServer } from 'node:http';
import { generateKeyPair, exportJWK, SignJWT } from 'jose';

export const HOSTILE_CLIENT_ID = 'hostile-test-client';
/** The HMAC key of the HS256 id_tokens: a public client has no secret, so anyone could know it. */
export const HMAC_KEY = 'a-key-that-anyone-could-know';

/**
 * Text that would drive a terminal: an OSC 52 clipboard write, a screen clear, a CSI through the
 * C1 control, DEL, and bidi overrides that make a line read as something else.
 */
export const TERMINAL_ATTACK =
  'evil\x1b]52;c;cm0gLXJmIH4K\x07 \x1b[2J\x1b[H \x9b31m \x7f \u202egnp.exe\u202c \u2066x\u2069 end';

/** Characters a terminal acts on, in `text`: bytes below 0x20 but \n, 0x7f–0x9f, bidi overrides and isolates. */
export function terminalControls(text) {
  return [
    ...text.matchAll(/[\u0000-\u0009\u000b-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/g),
  ].map(([c]) => `U+${c.codePointAt(0).toString(16).padStart(4, '0')}`);
}

const b64url = (value) => Buffer.from(JSON.stringify(value)).toString('base64url');
const opaque = (prefix) => `${prefix}-${randomBytes(24).toString('base64url')}`;

async function readForm(req) {
  const chunks = [];
  for await (const chunk of req) chunks.push(chunk);
  return Object.fromEntries(new URLSearchParams(Buffer.concat(chunks).toString('utf8')));
}

function drainedOrClosed(res) {
  return new Promise((resolve) => {
    const done = () => {
      res.off('drain', done);
      res.off('close', done);
      resolve();
    };
    res.on('drain', done);
    res.on('close', done);
  });
}

/**
 * Sends a reply: `{status?, json}`, `{status?, body, headers?}` (raw text or bytes), or
 * `{stream: bytes}`: a 200 whose body is `bytes` long, sent chunk by chunk as the reader takes it,
 * with no content-length; `sent` then counts what actually left before the reader hung up.
 */
async function send(res, reply, sent) {
  if (reply.stream !== undefined) {
    res.writeHead(200, { 'content-type': 'application/json' });
    const chunk = Buffer.alloc(64 * 1024, 0x61);
    res.write('{"access_token":"');
    while (sent.bytes < reply.stream && !res.destroyed) {
      sent.bytes += chunk.length;
      if (!res.write(chunk)) await drainedOrClosed(res);
    }
    return void res.end('"}');
  }
  const body = reply.json !== undefined ? JSON.stringify(reply.json) : (reply.body ?? '');
  const headers =
    reply.json !== undefined
      ? { 'content-type': 'application/json' }
      : { 'content-type': 'text/plain', ...reply.headers };
  res.writeHead(reply.status ?? 200, { 'cache-control': 'no-store', ...headers }).end(body);
}

/**
 * Starts the provider. `issuerPath` makes its issuer differ from its origin (Glewlwyd's does), so
 * nothing can pass by guessing the issuer from the token URL. `host` is the loopback address it
 * listens on.
 */
export async function startHostileProvider({
  host = '127.0.0.1',
  issuerPath = '/realms/hostile',
  clientId = HOSTILE_CLIENT_ID,
} = {}) {
  const { privateKey, publicKey } = await generateKeyPair('RS256');
  const kid = 'hostile-rs256';
  const jwk = { ...(await exportJWK(publicKey)), kid, alg: 'RS256', use: 'sig' };
  const logins = new Map(); // code → the authorization request's parameters
  const grants = new Map(); // refresh token → { subject, nonce }
  const sent = { bytes: 0 };

  const provider = {
    clientId,
    /** Every request: { method, path, query, form, authorization, host }. */
    requests: [],
    /** The subject of the next login. */
    subject: 'alice',
    /** Send the RFC 9207 `iss` in every authorization response. */
    sendIss: false,
    /** Fields added to (or replacing those of) the discovery document. */
    discovery: {},
    /** (params, defaults) → the redirect's query; the default answers `defaults`: { code, state, iss? }. */
    answerAuthorization: undefined,
    /** (request) → reply, or undefined for the default good answer; request: { grantType, form, grant }. */
    answerToken: undefined,
    /** (form) → reply, or undefined for the default device authorization response. */
    answerDevice: undefined,
    /** The last refresh token handed out. */
    lastRefreshToken: undefined,
    /** Bytes of `{stream}` bodies that actually went out. */
    sent,

    /** POSTs to the token endpoint, of one grant type or all. */
    tokenRequests(grantType) {
      return provider.requests.filter(
        (r) => r.path === '/token' && (grantType === undefined || r.form.grant_type === grantType),
      );
    },

    /**
     * An id_token with the default claims for `request`, overridden by `claims` (a claim set to
     * undefined is left out); `alg` 'RS256' (with the kid), 'HS256' or 'none'.
     */
    async idToken(request, { claims = {}, alg = 'RS256', header = {}, lifetime = 3600 } = {}) {
      const now = Math.floor(Date.now() / 1000);
      const subject = request?.grant?.subject ?? provider.subject;
      const all = {
        iss: provider.issuer,
        sub: subject,
        aud: clientId,
        exp: now + lifetime,
        iat: now,
        email: `${subject}@example.com`,
        nonce: request?.grant?.nonce,
        ...claims,
      };
      const payload = Object.fromEntries(Object.entries(all).filter(([, v]) => v !== undefined));
      if (alg === 'none')
        return `${b64url({ alg: 'none', typ: 'JWT', ...header })}.${b64url(payload)}.`;
      const key = alg === 'HS256' ? new TextEncoder().encode(HMAC_KEY) : privateKey;
      return new SignJWT(payload)
        .setProtectedHeader({ alg, typ: 'JWT', ...(alg === 'RS256' ? { kid } : {}), ...header })
        .sign(key);
    },

    /**
     * A successful token response for `request`: a new refresh token (remembered for later
     * refreshes), an access token, and an id_token made by idToken() unless `idToken` is given
     * (null: none). `fields` adds or replaces top-level members (expires_in, access_token, …).
     */
    async tokenResponse(
      request,
      { idToken, fields = {}, refreshToken = opaque('rt'), ...idOptions } = {},
    ) {
      const grant = request?.grant ?? { subject: provider.subject };
      grants.set(refreshToken, { subject: grant.subject, nonce: grant.nonce });
      provider.lastRefreshToken = refreshToken;
      const id =
        idToken === null ? undefined : (idToken ?? (await provider.idToken(request, idOptions)));
      const json = {
        access_token: opaque('at'),
        token_type: 'Bearer',
        expires_in: 3600,
        refresh_token: refreshToken,
        scope: 'openid email offline_access',
        ...(id ? { id_token: id } : {}),
        ...fields,
      };
      return { json };
    },
  };

  async function token(req, res, form) {
    const grantType = form.grant_type;
    let grant;
    if (grantType === 'authorization_code') {
      const login = logins.get(form.code);
      grant = login && { subject: login.subject, nonce: login.nonce };
    } else if (grantType === 'refresh_token') {
      // A refresh carries no nonce (OpenID Connect Core §12.2): the default id_token has none.
      grant = grants.has(form.refresh_token)
        ? { subject: grants.get(form.refresh_token).subject }
        : undefined;
    } else {
      grant = { subject: provider.subject };
    }
    const request = { grantType, form, grant };
    const reply =
      (await provider.answerToken?.(request)) ??
      (grant
        ? await provider.tokenResponse(request)
        : {
            status: 400,
            json: { error: 'invalid_grant', error_description: 'unknown code or refresh token' },
          });
    await send(res, reply, sent);
  }

  function authorize(res, query) {
    if (!query.redirect_uri) return send(res, { status: 400, body: 'no redirect_uri' }, sent);
    const code = opaque('code');
    logins.set(code, { ...query, subject: provider.subject });
    const defaults = {
      code,
      state: query.state,
      ...(provider.sendIss ? { iss: provider.issuer } : {}),
    };
    const answer = provider.answerAuthorization
      ? provider.answerAuthorization(query, defaults)
      : defaults;
    const location = new URL(query.redirect_uri);
    for (const [name, value] of Object.entries(answer))
      if (value !== undefined) location.searchParams.append(name, value);
    res.writeHead(302, { location: location.href }).end();
  }

  function discoveryDocument() {
    return {
      issuer: provider.issuer,
      authorization_endpoint: provider.endpoints.authorize,
      token_endpoint: provider.endpoints.token,
      revocation_endpoint: provider.endpoints.revocation,
      device_authorization_endpoint: provider.endpoints.device,
      jwks_uri: provider.endpoints.jwks,
      response_types_supported: ['code'],
      subject_types_supported: ['public'],
      id_token_signing_alg_values_supported: ['RS256'],
      code_challenge_methods_supported: ['S256'],
      grant_types_supported: [
        'authorization_code',
        'refresh_token',
        'urn:ietf:params:oauth:grant-type:device_code',
      ],
      ...provider.discovery,
    };
  }

  const server = createServer(async (req, res) => {
    try {
      const url = new URL(req.url, 'http://provider');
      const query = Object.fromEntries(url.searchParams);
      const form = req.method === 'POST' ? await readForm(req) : {};
      provider.requests.push({
        method: req.method,
        path: url.pathname,
        query,
        form,
        authorization: req.headers.authorization,
        host: req.headers.host,
      });
      if (req.method === 'GET' && url.pathname === `${issuerPath}/.well-known/openid-configuration`)
        return send(res, { json: discoveryDocument() }, sent);
      if (req.method === 'GET' && url.pathname === '/jwks')
        return send(res, { json: { keys: [jwk] } }, sent);
      if (req.method === 'GET' && url.pathname === '/authorize') return authorize(res, query);
      if (req.method === 'POST' && url.pathname === '/token') return await token(req, res, form);
      if (req.method === 'POST' && url.pathname === '/revoke')
        return send(res, { status: 200, body: '' }, sent);
      if (req.method === 'POST' && url.pathname === '/device') {
        const verify = `${provider.origin}/device/verify`;
        const reply = provider.answerDevice?.(form) ?? {
          json: {
            device_code: opaque('dc'),
            user_code: 'WDJB-MJHT',
            verification_uri: verify,
            verification_uri_complete: `${verify}?user_code=WDJB-MJHT`,
            expires_in: 600,
            interval: 1,
          },
        };
        return send(res, reply, sent);
      }
      send(res, { status: 404, body: 'not found' }, sent);
    } catch (error) {
      if (!res.headersSent) res.writeHead(500).end(String(error?.message ?? error));
      else res.destroy();
    }
  });
  const port = await new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, host, () => resolve(server.address().port));
  });

  provider.port = port;
  provider.origin = `http://${host}:${port}`;
  provider.issuer = `${provider.origin}${issuerPath}`;
  provider.endpoints = {
    authorize: `${provider.origin}/authorize`,
    token: `${provider.origin}/token`,
    revocation: `${provider.origin}/revoke`,
    device: `${provider.origin}/device`,
    jwks: `${provider.origin}/jwks`,
  };
  /** Profile keys for this provider: explicit endpoints (`mode` 'explicit') or discovery ('issuer'). */
  provider.profileKeys = (mode, extra = {}) => ({
    client_id: clientId,
    ...(mode === 'issuer'
      ? { issuer: provider.issuer }
      : {
          authorize_url: provider.endpoints.authorize,
          token_url: provider.endpoints.token,
          revocation_url: provider.endpoints.revocation,
          device_authorization_url: provider.endpoints.device,
        }),
    ...extra,
  });
  provider.close = () =>
    new Promise((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections();
    });
  return provider;
}

/**
 * The one error line of a failed CLI command, after checking its exit code and that nothing in its
 * output would drive a terminal.
 */
export function errorLine(result, exitCode) {
  assert.equal(
    result.code,
    exitCode,
    `exit ${result.code}, expected ${exitCode}: ${result.stderr}`,
  );
  assert.deepEqual(
    terminalControls(result.stdout + result.stderr),
    [],
    `no terminal controls in: ${JSON.stringify(result.stderr)}`,
  );
  const lines = result.stderr.split('\n').filter((line) => line.startsWith('kms-agent:'));
  assert.equal(lines.length, 1, `one error line: ${result.stderr}`);
  return lines[0];
}
