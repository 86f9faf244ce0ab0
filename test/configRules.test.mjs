// The rules the config applies, each defined once and used by the daemon too: where tokens may be
// sent, where a login may redirect, the scope syntax; what is derived once when a profile is built
// (the token served, plain http, the store key); the [git] table and extra_auth_params; and what a
// reload needs (the files to watch, what changed in a profile). In-process, against dist/.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadConfig } from '../dist/config/config.js';
import { noProfileChosen } from '../dist/config/defaultProfile.js';
import {
  endpointProblem,
  isLoopbackHost,
  isLoopbackHttp,
  REDIRECT_HOSTS,
} from '../dist/config/endpointRules.js';
import { profileChanges } from '../dist/config/profileChanges.js';
import { isScopeToken } from '../dist/config/scopeSyntax.js';
import { assertConfigError, COSMIAN_LAYOUTS, sandbox } from './support/configSandbox.mjs';

/** The profiles of a config made of `[profiles.p]` with these keys (TOML values, as written). */
function loadProfile(t, keys, { name = 'p' } = {}) {
  const s = sandbox(t);
  s.writeConfig(profileText(name, keys));
  return loadConfig({ env: s.env }).profiles.get(name);
}

const BASE = {
  client_id: '"client"',
  authorize_url: '"https://idp.example.com/authorize"',
  token_url: '"https://idp.example.com/token"',
};
const profileText = (name, keys) =>
  `[profiles.${name}]\n${Object.entries(keys)
    .map(([k, v]) => `${k} = ${v}`)
    .join('\n')}\n`;

describe('where tokens may be sent: https, or plain http to this machine only', () => {
  test('loopback hosts: localhost, 127.0.0.0/8 and ::1, nothing that only looks like them', () => {
    for (const host of [
      'localhost',
      'LOCALHOST',
      '127.0.0.1',
      '127.0.0.2',
      '127.255.255.254',
      '[::1]',
      '::1',
    ]) {
      assert.equal(isLoopbackHost(host), true, host);
    }
    for (const host of [
      'localhost.evil.com',
      'evil-localhost',
      '127.0.0.256',
      '127.0.0',
      '128.0.0.1',
      '10.0.0.1',
      '[::2]',
      '0.0.0.0',
      '',
    ]) {
      assert.equal(isLoopbackHost(host), false, host);
    }
  });

  test('endpointProblem says what an endpoint falls short of, and nothing for a good one', () => {
    for (const url of [
      'https://idp.example.com/token',
      'http://localhost:8080/t',
      'http://127.0.0.2:9/t',
      'http://[::1]:9/t',
    ]) {
      assert.equal(endpointProblem(url), undefined, url);
    }
    assert.equal(endpointProblem('foo'), 'an http(s) URL');
    assert.equal(endpointProblem('ftp://idp.example.com/t'), 'an http(s) URL');
    assert.match(
      endpointProblem('http://idp.example.com/token'),
      /^an https URL \(plain http only to localhost, 127\.0\.0\.0\/8 or ::1/,
    );
    assert.match(endpointProblem('http://localhost.evil.com/'), /^an https URL/);
    assert.equal(isLoopbackHttp('http://127.0.0.2:9/t'), true);
    assert.equal(isLoopbackHttp('https://127.0.0.1/t'), false, 'https needs no exception');
    assert.equal(isLoopbackHttp('http://idp.example.com/'), false);
  });

  test('the 127.0.0.2 bug: an endpoint the config accepts is one the profile allows plain http for', (t) => {
    // The config used to accept 127.0.0.2 while the provider client allowed http to 127.0.0.1 only,
    // so the profile loaded and every refresh failed. One rule now decides both.
    const p = loadProfile(t, { ...BASE, token_url: '"http://127.0.0.2:8443/token"' });
    assert.equal(p.tokenUrl, 'http://127.0.0.2:8443/token');
    assert.equal(p.allowHttp, true);
  });

  test('allowHttp is computed once: true when any endpoint or the issuer is plain http to this machine', (t) => {
    assert.equal(loadProfile(t, BASE).allowHttp, false);
    assert.equal(
      loadProfile(t, { client_id: '"c"', issuer: '"http://127.0.0.1:8080"' }).allowHttp,
      true,
      'issuer',
    );
    assert.equal(
      loadProfile(t, { ...BASE, revocation_url: '"http://[::1]:8080/revoke"' }).allowHttp,
      true,
      'revocation_url alone',
    );
    assert.equal(
      loadProfile(t, { ...BASE, device_authorization_url: '"http://localhost:8080/device"' })
        .allowHttp,
      true,
      'device endpoint',
    );
    assert.equal(loadProfile(t, { ...BASE, issuer: '"https://idp.example.com"' }).allowHttp, false);
  });

  test('scope names: RFC 6749 scope-token, one definition', () => {
    for (const name of [
      'openid',
      'offline_access',
      'api://kms/.default',
      'https://www.googleapis.com/auth/cloud-platform',
      '!#[]~',
    ]) {
      assert.equal(isScopeToken(name), true, name);
    }
    for (const name of ['', 'openid email', 'a"b', 'a\\b', 'é', 'tab\there', 'openid,email'])
      assert.equal(isScopeToken(name), false, JSON.stringify(name));
  });

  test('a comma-separated list is refused with the list as it should be written (issue 20, trap 2)', (t) => {
    const s = sandbox(t);
    const file = s.writeConfig(
      profileText('p', { ...BASE, scopes: '["openid,email,offline_access"]' }),
    );
    assertConfigError(() => loadConfig({ env: s.env }), {
      file,
      profile: 'p',
      key: 'scopes',
      says: /"openid,email,offline_access" is not a list of scopes: scopes are separated by spaces \("openid email offline_access"\) or, in the config, written one per string \(\["openid", "email", "offline_access"\]\)/,
    });
  });
});

describe('redirect_url: only the hosts the login listener binds', () => {
  test('localhost, 127.0.0.1 and [::1] are accepted', (t) => {
    assert.deepEqual(REDIRECT_HOSTS, ['localhost', '127.0.0.1', '[::1]']);
    for (const url of [
      'http://localhost:17899/authorization',
      'http://127.0.0.1:8080/cb',
      'http://[::1]:80/cb',
    ]) {
      assert.equal(loadProfile(t, { ...BASE, redirect_url: JSON.stringify(url) }).redirectUrl, url);
    }
  });

  test('any other loopback address is refused, saying why: another process could take the code there', (t) => {
    const s = sandbox(t);
    for (const host of ['127.0.0.2', '127.1.2.3', '127.0.0.1.nip.io']) {
      const file = s.writeConfig(
        profileText('p', { ...BASE, redirect_url: `"http://${host}:8080/cb"` }),
      );
      assertConfigError(() => loadConfig({ env: s.env }), {
        file,
        profile: 'p',
        key: 'redirect_url',
        says: host.startsWith('127.0.0.1.')
          ? /loopback http URL/
          : [
              /expected a redirect to localhost, 127\.0\.0\.1 or \[::1\]/,
              /binds only 127\.0\.0\.1 and ::1/,
              new RegExp(`got "http://${host.replaceAll('.', '\\.')}:8080/cb"`),
            ],
      });
    }
  });
});

describe('the token served: decided by the profile, once', () => {
  const cases = [
    ['auto, openid, no audience: the id_token', {}, 'id'],
    ['auto without openid: the access token', { scopes: '["email", "offline_access"]' }, 'access'],
    ['auto with an audience: the access token', { audience: '"kms"' }, 'access'],
    ['auto with a resource: the access token', { resource: '"https://kms.example.com"' }, 'access'],
    ['access', { token: '"access"' }, 'access'],
    ['id', { token: '"id"', audience: '"kms"' }, 'id'],
  ];
  for (const [what, keys, served] of cases) {
    test(what, (t) => {
      const p = loadProfile(t, {
        ...BASE,
        scopes: '["openid", "email", "offline_access"]',
        ...keys,
      });
      assert.equal(p.servedKind, served);
    });
  }

  test('token = "id" without openid in scopes is refused: no id_token would ever come', (t) => {
    const s = sandbox(t);
    const file = s.writeConfig(profileText('p', { ...BASE, scopes: '["email"]', token: '"id"' }));
    assertConfigError(() => loadConfig({ env: s.env }), {
      file,
      profile: 'p',
      key: 'token',
      says: /"id" needs "openid" in scopes/,
    });
  });
});

describe('the store key covers every endpoint that receives the refresh token', () => {
  const FULL = {
    ...BASE,
    issuer: '"https://idp.example.com"',
    revocation_url: '"https://idp.example.com/revoke"',
    device_authorization_url: '"https://idp.example.com/device"',
    scopes: '["openid", "email"]',
    store: '"file"',
  };

  test('changing the profile name, client_id or any endpoint changes the key', (t) => {
    const before = loadProfile(t, FULL);
    assert.match(
      before.storeKey,
      /^p\/client@https:\/\/idp\.example\.com#[0-9a-f]{16}$/,
      'readable, then a hash',
    );
    const changes = {
      client_id: '"other-client"',
      issuer: '"https://idp.example.com/v2"',
      authorize_url: '"https://idp.example.com/authorize2"',
      token_url: '"https://evil.example.com/token"',
      revocation_url: '"https://evil.example.com/revoke"',
      device_authorization_url: '"https://evil.example.com/device"',
    };
    for (const [key, value] of Object.entries(changes)) {
      assert.notEqual(loadProfile(t, { ...FULL, [key]: value }).storeKey, before.storeKey, key);
    }
    assert.notEqual(loadProfile(t, FULL, { name: 'q' }).storeKey, before.storeKey, 'profile name');
    const withoutRevocation = { ...FULL };
    delete withoutRevocation.revocation_url;
    assert.notEqual(
      loadProfile(t, withoutRevocation).storeKey,
      before.storeKey,
      'removing an endpoint',
    );
  });

  test('changing scopes, store, secret, audience, redirect or token kind keeps the key (and the login)', (t) => {
    const before = loadProfile(t, FULL);
    const changes = {
      scopes: '["openid", "email", "offline_access"]',
      store: '"memory"',
      client_secret: '"s"',
      audience: '"kms"',
      redirect_url: '"http://127.0.0.1:18000/cb"',
      token: '"access"',
      extra_auth_params: '{ prompt = "login" }',
      token_file: 'true',
    };
    for (const [key, value] of Object.entries(changes)) {
      assert.equal(loadProfile(t, { ...FULL, [key]: value }).storeKey, before.storeKey, key);
    }
  });

  test('the Cosmian profile has a store key over its endpoints too', (t) => {
    const s = sandbox(t);
    const file = s.write('.cosmian/ckms.toml', COSMIAN_LAYOUTS['ckms.toml']);
    const before = loadConfig({ env: s.env }).profiles.get('ckms').storeKey;
    writeFileSync(
      file,
      COSMIAN_LAYOUTS['ckms.toml'].replace(
        'https://idp.example.com/token',
        'https://evil.example.com/token',
      ),
    );
    assert.notEqual(loadConfig({ env: s.env }).profiles.get('ckms').storeKey, before);
  });
});

describe('extra_auth_params: added to the authorization request', () => {
  test('an inline table or a table of strings; empty when absent', (t) => {
    assert.deepEqual(loadProfile(t, BASE).extraAuthParams, {});
    const inline = loadProfile(t, {
      ...BASE,
      extra_auth_params: '{ prompt = "consent", access_type = "offline" }',
    });
    assert.deepEqual(inline.extraAuthParams, { prompt: 'consent', access_type: 'offline' });
    const s = sandbox(t);
    s.writeConfig(
      `${profileText('p', BASE)}[profiles.p.extra_auth_params]\nlogin_hint = "alice@example.com"\ndomain_hint = "example.com"\n`,
    );
    assert.deepEqual(loadConfig({ env: s.env }).profiles.get('p').extraAuthParams, {
      login_hint: 'alice@example.com',
      domain_hint: 'example.com',
    });
  });

  const OWN = {
    response_type: /always asks for an authorization code/,
    client_id: /set client_id in the profile/,
    redirect_uri: /set redirect_url in the profile/,
    state: /fresh one for every login/,
    nonce: /fresh one for every login/,
    code_challenge: /fresh PKCE challenge/,
    code_challenge_method: /PKCE with S256/,
    scope: /set scopes in the profile/,
    audience: /set audience in the profile/,
    resource: /set resource in the profile/,
    acr_values: /set acr_values in the profile, which also checks the id_token's acr/,
    max_age: /set max_age in the profile, which also checks the id_token's auth_time/,
  };
  test('the parameters the agent sets itself are refused, each saying why', (t) => {
    const s = sandbox(t);
    for (const [name, why] of Object.entries(OWN)) {
      const file = s.writeConfig(
        profileText('p', { ...BASE, extra_auth_params: `{ ${name} = "x" }` }),
      );
      assertConfigError(() => loadConfig({ env: s.env }), {
        file,
        profile: 'p',
        key: `extra_auth_params.${name}`,
        says: [new RegExp(`the agent sets "${name}" itself`), why],
      });
    }
  });

  test('a value that is not a string is refused, naming the parameter', (t) => {
    const s = sandbox(t);
    const file = s.writeConfig(
      profileText('p', { ...BASE, extra_auth_params: '{ ui_locales = 300 }' }),
    );
    assertConfigError(() => loadConfig({ env: s.env }), {
      file,
      profile: 'p',
      key: 'extra_auth_params.ui_locales',
      says: /expected a string, got 300/,
    });
  });
});

describe('[git]: a host git asks about, mapped to a profile and a username', () => {
  const TWO = `${profileText('work', BASE)}${profileText('home', BASE)}`;

  test('host or host:port, lower-cased; username defaults to oauth2', (t) => {
    const s = sandbox(t);
    s.writeConfig(`${TWO}
[git."GitLab.example.com"]
profile = "work"

[git."gitea.example.com:3000"]
profile = "home"
username = "alice"
`);
    const { git } = loadConfig({ env: s.env });
    assert.deepEqual(
      git,
      new Map([
        ['gitlab.example.com', { profile: 'work', username: 'oauth2' }],
        ['gitea.example.com:3000', { profile: 'home', username: 'alice' }],
      ]),
    );
  });

  test('the Cosmian profile can serve git too', (t) => {
    const s = sandbox(t);
    s.write('.cosmian/ckms.toml', COSMIAN_LAYOUTS['ckms.toml']);
    s.writeConfig('[git."kms.example.com"]\nprofile = "ckms"\n');
    assert.deepEqual(loadConfig({ env: s.env }).git.get('kms.example.com'), {
      profile: 'ckms',
      username: 'oauth2',
    });
  });

  const BAD_GIT = [
    [
      'an unknown profile',
      '[git."h.example.com"]\nprofile = "play"\n',
      'git."h.example.com".profile',
      /no profile named "play" \(known profiles: work, home\)/,
    ],
    [
      'no profile',
      '[git."h.example.com"]\nusername = "x"\n',
      'git."h.example.com".profile',
      /missing \(required\)/,
    ],
    [
      'an unknown key',
      '[git."h.example.com"]\nprofile = "work"\nuser = "x"\n',
      'git."h.example.com".user',
      /unknown key \(known keys: profile, username\)/,
    ],
    [
      'an empty username',
      '[git."h.example.com"]\nprofile = "work"\nusername = ""\n',
      'git."h.example.com".username',
      /non-empty string/,
    ],
    [
      'a URL instead of a host',
      '[git."https://h.example.com/"]\nprofile = "work"\n',
      'git."https://h.example.com/"',
      /"host" or "host:port"/,
    ],
    [
      'the same host twice',
      '[git."h.example.com"]\nprofile = "work"\n[git."H.example.com"]\nprofile = "home"\n',
      'git."H.example.com"',
      /configured twice/,
    ],
    ['not a table', '[git]\n"h.example.com" = "work"\n', 'git."h.example.com"', /expected a table/],
    ['git not a table', 'git = "work"\n', 'git', /expected a table/],
  ];
  for (const [what, text, key, says] of BAD_GIT) {
    test(`refused: ${what}`, (t) => {
      const s = sandbox(t);
      // Top-level keys go before the first table.
      const file = s.writeConfig(text.startsWith('git =') ? `${text}${TWO}` : `${TWO}${text}`);
      assertConfigError(() => loadConfig({ env: s.env }), { file, key, says });
    });
  }
});

describe('reload support', () => {
  test('loadConfig lists the files to watch: the config, and where the Cosmian file is or may appear', (t) => {
    const s = sandbox(t);
    const cosmianDir = join(s.home, '.cosmian');
    const defaults = ['ckms.toml', 'cosmian.toml', 'kms.toml', 'kms.json'].map((name) =>
      join(cosmianDir, name),
    );
    assert.deepEqual(loadConfig({ env: s.env }).files, [
      { path: s.configPath, role: 'config', exists: false },
      ...defaults.map((path) => ({ path, role: 'cosmian', exists: false })),
    ]);

    s.writeConfig(profileText('p', BASE));
    s.write('.cosmian/kms.toml', COSMIAN_LAYOUTS['kms.toml']);
    assert.deepEqual(loadConfig({ env: s.env }).files, [
      { path: s.configPath, role: 'config', exists: true },
      { path: defaults[0], role: 'cosmian', exists: false },
      { path: defaults[1], role: 'cosmian', exists: false },
      { path: defaults[2], role: 'cosmian', exists: true },
    ]);

    const named = join(s.home, 'ckms-elsewhere.toml');
    assert.deepEqual(loadConfig({ env: { ...s.env, CKMS_CONF: named } }).files.slice(1), [
      { path: named, role: 'cosmian', exists: false },
    ]);
    s.writeConfig(profileText('ckms', BASE));
    assert.deepEqual(
      loadConfig({ env: s.env }).files,
      [{ path: s.configPath, role: 'config', exists: true }],
      'an own ckms profile: the Cosmian file is not read',
    );
  });

  test('loading again gives the same config, and sees an edit', (t) => {
    const s = sandbox(t);
    s.writeConfig(profileText('p', BASE));
    const first = loadConfig({ env: s.env });
    assert.deepEqual(loadConfig({ env: s.env }), first);
    s.writeConfig(profileText('p', { ...BASE, scopes: '["openid"]' }));
    assert.deepEqual(loadConfig({ env: s.env }).profiles.get('p').scopes, ['openid']);
  });

  describe('profileChanges: what a reloaded profile keeps', () => {
    const FULL = {
      ...BASE,
      revocation_url: '"https://idp.example.com/revoke"',
      scopes: '["openid", "email"]',
      extra_auth_params: '{ prompt = "consent", login_hint = "a" }',
    };
    /** The profile loaded, the file edited, the profile loaded again: as a reload sees it. */
    const after = (t, keys) => {
      const s = sandbox(t);
      s.writeConfig(profileText('p', FULL));
      const before = loadConfig({ env: s.env }).profiles.get('p');
      s.writeConfig(profileText('p', { ...FULL, ...keys }));
      return profileChanges(before, loadConfig({ env: s.env }).profiles.get('p'));
    };

    test('unchanged: nothing changed, nothing dropped (a table in another order is the same)', (t) => {
      assert.deepEqual(after(t, {}), { changed: [], dropsTokens: false, dropsLogin: false });
      assert.deepEqual(
        after(t, { extra_auth_params: '{ login_hint = "a", prompt = "consent" }' }),
        { changed: [], dropsTokens: false, dropsLogin: false },
      );
    });

    test('settings that do not shape tokens: changed, tokens and login kept', (t) => {
      assert.deepEqual(after(t, { store: '"memory"' }), {
        changed: ['store'],
        dropsTokens: false,
        dropsLogin: false,
      });
      assert.deepEqual(after(t, { redirect_url: '"http://127.0.0.1:18000/cb"' }), {
        changed: ['redirectUrl'],
        dropsTokens: false,
        dropsLogin: false,
      });
      assert.deepEqual(after(t, { token_file: 'true' }), {
        changed: ['tokenFile'],
        dropsTokens: false,
        dropsLogin: false,
      });
    });

    test('client, scopes, audience, parameters or kind: cached tokens dropped, login kept', (t) => {
      const cases = {
        client_secret: ['"s"', ['clientSecret', 'tokenEndpointAuthMethod']],
        scopes: ['["openid"]', ['scopes']],
        audience: ['"kms"', ['audience', 'servedKind']],
        resource: ['"https://kms.example.com"', ['resource', 'servedKind']],
        extra_auth_params: ['{ prompt = "login" }', ['extraAuthParams']],
        token: ['"access"', ['token', 'servedKind']],
      };
      for (const [key, [value, fields]] of Object.entries(cases)) {
        const changes = after(t, { [key]: value });
        assert.deepEqual(changes.changed.sort(), [...fields].sort(), key);
        assert.equal(changes.dropsTokens, true, key);
        assert.equal(changes.dropsLogin, false, key);
      }
    });

    test('an endpoint or the client_id: tokens and login dropped', (t) => {
      for (const [key, value] of Object.entries({
        token_url: '"https://evil.example.com/token"',
        revocation_url: '"https://evil.example.com/revoke"',
        authorize_url: '"https://idp.example.com/authorize2"',
        client_id: '"other"',
      })) {
        const changes = after(t, { [key]: value });
        assert.equal(changes.dropsTokens, true, key);
        assert.equal(changes.dropsLogin, true, key);
        assert.ok(changes.changed.includes('storeKey'), key);
      }
    });
  });
});

describe('no default profile: the message says what to do', () => {
  test('several profiles: name them, and the two ways to choose', (t) => {
    const s = sandbox(t);
    s.writeConfig(`${profileText('work', BASE)}${profileText('home', BASE)}`);
    const config = loadConfig({ env: s.env });
    assert.equal(config.defaultProfile, undefined);
    assert.equal(
      noProfileChosen(config),
      `several profiles (work, home): pick one with --profile or set default_profile in ${s.configPath}`,
    );
  });

  test('no profile at all: where to add one', (t) => {
    const s = sandbox(t);
    const config = loadConfig({ env: s.env });
    assert.equal(
      noProfileChosen(config),
      `no profile is configured in ${s.configPath}: add one with \`kms-agent add NAME --issuer URL --client-id ID\`, or set up the Cosmian CLI's ckms.toml`,
    );
  });
});
