// The config loader in-process: kms-agent's own config.toml, the Cosmian CLI's files as profile
// `ckms`, where each is looked for, and one clear line for each mistake. The rules it applies
// (endpoints, redirects, derived fields, reload) are in configRules.test.mjs; file permissions
// (StrictModes) in configTrust.test.mjs.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { loadConfig } from '../dist/config/config.js';
import { findCosmianConfig, resolveConfigPath } from '../dist/config/configPaths.js';
import { resolveStateDir } from '../dist/os/xdgPaths.js';
import {
  assertConfigError,
  AUTH0,
  COSMIAN_LAYOUTS,
  ENTRA,
  OWN_ENTRA,
  sandbox,
  seedSection,
} from './support/configSandbox.mjs';

/** The documented defaults (README.md), as a profile with openid in its scopes, no audience and https endpoints gets them. */
const DEFAULTS = {
  grant: 'authorization_code',
  dpop: false,
  redirectUrl: 'http://localhost:17899/authorization',
  extraAuthParams: {},
  token: 'auto',
  servedKind: 'id',
  tokenFile: false,
  store: 'keychain',
  confirm: false,
  tokenExchange: false,
  allowHttp: false,
};

/** A loaded profile's store key has its own tests (configRules.test.mjs); here only its readable part. */
function withoutStoreKey(profile, readable) {
  const { storeKey, ...rest } = profile;
  assert.ok(storeKey.startsWith(`${readable}#`), `store key ${storeKey} starts with ${readable}#`);
  assert.match(storeKey.slice(readable.length), /^#[0-9a-f]{16}$/);
  return rest;
}

describe("kms-agent's own config.toml", () => {
  test('the docs/configuration.md example: an Entra profile parses with its defaults', (t) => {
    const s = sandbox(t);
    const file = s.writeConfig(OWN_ENTRA);
    const config = loadConfig({ env: s.env });
    assert.equal(config.configPath, file);
    assert.equal(config.defaultProfile, 'entra');
    assert.deepEqual(
      withoutStoreKey(config.profiles.get('entra'), `entra/${ENTRA.client_id}@${ENTRA.token_url}`),
      {
        name: 'entra',
        source: file,
        sourceKind: 'config',
        clientId: ENTRA.client_id,
        tokenEndpointAuthMethod: 'none',
        authorizeUrl: ENTRA.authorize_url,
        tokenUrl: ENTRA.token_url,
        scopes: ['email', 'openid', 'offline_access'],
        ...DEFAULTS,
      },
    );
    assert.deepEqual(config.warnings, []);
    assert.equal(config.logLevel, 'info');
    assert.equal(config.storeDir, join(s.home, '.local/state/kms-agent'));
    assert.deepEqual(config.git, new Map());
  });

  test('the seed Entra and Auth0 examples parse, as own profiles and as the Cosmian CLI file', (t) => {
    const s = sandbox(t);
    s.writeConfig(seedSection('[profiles.entra]', ENTRA) + seedSection('[profiles.auth0]', AUTH0));
    s.write('.cosmian/cosmian.toml', seedSection('[kms_config.http_config.oauth2_conf]', AUTH0));
    const config = loadConfig({ env: s.env });
    assert.deepEqual([...config.profiles.keys()].sort(), ['auth0', 'ckms', 'entra']);
    for (const [name, idp] of [
      ['entra', ENTRA],
      ['auth0', AUTH0],
      ['ckms', AUTH0],
    ]) {
      const p = config.profiles.get(name);
      assert.equal(p.clientId, idp.client_id);
      assert.equal(p.authorizeUrl, idp.authorize_url);
      assert.equal(p.tokenUrl, idp.token_url);
      assert.deepEqual(p.scopes, ['email', 'openid']);
      assert.equal(p.clientSecret, undefined);
      assert.equal(p.tokenEndpointAuthMethod, 'none');
    }
    assert.equal(
      config.defaultProfile,
      undefined,
      'several profiles, none named "default", and no default_profile: none is chosen',
    );
  });

  test('every profile key is read; a secret defaults to client_secret_basic', (t) => {
    const s = sandbox(t);
    s.writeConfig(`
  log_level = "debug"
  store_dir = "~/tokens"
  [profiles.google]
  client_id = "id"
  client_secret = "s3cret"
  issuer = "https://accounts.google.com"
  revocation_url = "https://oauth2.googleapis.com/revoke"
  device_authorization_url = "https://oauth2.googleapis.com/device/code"
  redirect_url = "http://127.0.0.1:8080/cb"
  scopes = ["openid"]
  audience = "kms"
  resource = "https://kms.example.com"
  token = "id"
  extra_auth_params = { access_type = "offline", prompt = "consent" }
  token_file = true
  store = "file"
  [profiles.post]
  client_id = "id"
  client_secret = "s3cret"
  token_endpoint_auth_method = "client_secret_post"
  issuer = "http://localhost:8080/realms/dev"
  redirect_url = "http://[::1]:80/cb"
  `);
    const config = loadConfig({ env: s.env });
    const google = config.profiles.get('google');
    assert.equal(google.clientSecret, 's3cret');
    assert.equal(google.tokenEndpointAuthMethod, 'client_secret_basic');
    assert.equal(google.issuer, 'https://accounts.google.com');
    assert.equal(google.authorizeUrl, undefined, 'issuer makes the endpoints optional');
    assert.equal(google.revocationUrl, 'https://oauth2.googleapis.com/revoke');
    assert.equal(google.deviceAuthorizationUrl, 'https://oauth2.googleapis.com/device/code');
    assert.equal(google.redirectUrl, 'http://127.0.0.1:8080/cb');
    assert.equal(google.audience, 'kms');
    assert.equal(google.resource, 'https://kms.example.com');
    assert.equal(google.token, 'id');
    assert.equal(google.servedKind, 'id');
    assert.deepEqual(google.extraAuthParams, { access_type: 'offline', prompt: 'consent' });
    assert.equal(google.tokenFile, true);
    assert.equal(google.store, 'file');
    assert.equal(google.allowHttp, false);
    const post = config.profiles.get('post');
    assert.equal(post.tokenEndpointAuthMethod, 'client_secret_post');
    assert.equal(post.issuer, 'http://localhost:8080/realms/dev', 'loopback http is fine');
    assert.equal(post.allowHttp, true, 'and the provider client is told so');
    assert.deepEqual(post.extraAuthParams, {});
    assert.equal(post.tokenFile, false);
    assert.equal(post.redirectUrl, 'http://[::1]:80/cb', 'an explicit :80 counts as explicit');
    assert.equal(config.logLevel, 'debug');
    assert.equal(config.storeDir, join(s.home, 'tokens'));
  });
});

describe("the Cosmian CLI's files as profile ckms", () => {
  for (const [layout, contents] of Object.entries(COSMIAN_LAYOUTS)) {
    test(`~/.cosmian/${layout} becomes profile ckms and is left byte-for-byte unchanged`, (t) => {
      const s = sandbox(t);
      const file = s.write(`.cosmian/${layout}`, contents);
      const before = readFileSync(file);
      const config = loadConfig({ env: s.env });
      assert.deepEqual(
        withoutStoreKey(
          config.profiles.get('ckms'),
          'ckms/cosmian-client@https://idp.example.com/token',
        ),
        {
          name: 'ckms',
          source: file,
          sourceKind: layout,
          clientId: 'cosmian-client',
          tokenEndpointAuthMethod: 'none',
          authorizeUrl: 'https://idp.example.com/authorize',
          tokenUrl: 'https://idp.example.com/token',
          scopes: ['openid', 'email'],
          ...DEFAULTS,
        },
      );
      assert.equal(config.defaultProfile, 'ckms', 'the only profile is the default');
      assert.deepEqual(readFileSync(file), before);
    });
  }

  test('the first of ckms.toml, cosmian.toml, kms.toml, kms.json that exists is read', (t) => {
    const s = sandbox(t);
    for (const layout of ['kms.json', 'kms.toml', 'cosmian.toml', 'ckms.toml']) {
      s.write(`.cosmian/${layout}`, COSMIAN_LAYOUTS[layout]);
      const found = findCosmianConfig(s.env);
      assert.equal(basename(found.path), layout);
      assert.equal(found.named, false);
      assert.equal(loadConfig({ env: s.env }).profiles.get('ckms').sourceKind, layout);
    }
    assert.equal(findCosmianConfig({ HOME: join(s.home, 'nobody') }), null);
  });

  test('CKMS_CONF, then COSMIAN_CLI_CONF, then KMS_CLI_CONF; a file of any name is recognised by its contents', (t) => {
    const s = sandbox(t);
    s.write('.cosmian/ckms.toml', COSMIAN_LAYOUTS['ckms.toml']);
    const asJson = s.write('elsewhere/legacy.conf', COSMIAN_LAYOUTS['kms.json']);
    const nested = s.write('elsewhere/client.toml', COSMIAN_LAYOUTS['cosmian.toml']);
    const flat = s.write('elsewhere/flat.toml', COSMIAN_LAYOUTS['ckms.toml']);

    // Which file: the lookup. Which layout: the loader, from the contents it parses once.
    const kindWith = (env) =>
      loadConfig({ env: { ...s.env, ...env } }).profiles.get('ckms').sourceKind;
    assert.deepEqual(findCosmianConfig({ ...s.env, KMS_CLI_CONF: asJson }), {
      path: asJson,
      named: true,
    });
    assert.equal(kindWith({ KMS_CLI_CONF: asJson }), 'kms.json');
    assert.deepEqual(
      findCosmianConfig({ ...s.env, KMS_CLI_CONF: asJson, COSMIAN_CLI_CONF: nested }),
      { path: nested, named: true },
    );
    assert.equal(kindWith({ KMS_CLI_CONF: asJson, COSMIAN_CLI_CONF: nested }), 'cosmian.toml');
    assert.deepEqual(
      findCosmianConfig({
        ...s.env,
        KMS_CLI_CONF: asJson,
        COSMIAN_CLI_CONF: nested,
        CKMS_CONF: flat,
      }),
      { path: flat, named: true },
    );
    assert.equal(
      kindWith({ KMS_CLI_CONF: asJson, COSMIAN_CLI_CONF: nested, CKMS_CONF: flat }),
      'ckms.toml',
    );
    const config = loadConfig({ env: { ...s.env, KMS_CLI_CONF: asJson } });
    assert.equal(config.profiles.get('ckms').source, asJson);
    assert.equal(config.profiles.get('ckms').sourceKind, 'kms.json');
  });

  test('a Cosmian file named by an env var that does not exist: no ckms profile, a warning', (t) => {
    const s = sandbox(t);
    const missing = join(s.home, 'nowhere/ckms.toml');
    const config = loadConfig({ env: { ...s.env, CKMS_CONF: missing } });
    assert.equal(config.profiles.size, 0);
    assert.ok(
      config.warnings.some((w) => w.includes(missing)),
      config.warnings.join('\n'),
    );
  });

  test('a Cosmian file without oauth2_conf yields no profile and no error', (t) => {
    const s = sandbox(t);
    s.write(
      '.cosmian/cosmian.toml',
      '[kms_config.http_config]\nserver_url = "http://0.0.0.0:9998"\n',
    );
    const config = loadConfig({ env: s.env });
    assert.equal(config.profiles.size, 0);
    assert.equal(config.defaultProfile, undefined);
  });

  test('a Cosmian client_secret: empty means none, set means client_secret_basic', (t) => {
    const s = sandbox(t);
    const file = s.write('.cosmian/ckms.toml', COSMIAN_LAYOUTS['ckms.toml']);
    const empty = loadConfig({ env: s.env }).profiles.get('ckms');
    assert.equal(empty.clientSecret, undefined);
    assert.ok(!('clientSecret' in empty));
    assert.equal(empty.tokenEndpointAuthMethod, 'none');

    writeFileSync(
      file,
      COSMIAN_LAYOUTS['ckms.toml'].replace('client_secret = ""', 'client_secret = "g00gle"'),
    );
    const set = loadConfig({ env: s.env }).profiles.get('ckms');
    assert.equal(set.clientSecret, 'g00gle');
    assert.equal(set.tokenEndpointAuthMethod, 'client_secret_basic');
  });

  test('OAUTH2_REDIRECT_URL_PORT changes the port of the ckms redirect URL only', (t) => {
    const s = sandbox(t);
    s.write('.cosmian/ckms.toml', COSMIAN_LAYOUTS['ckms.toml']);
    s.writeConfig(OWN_ENTRA);
    const config = loadConfig({ env: { ...s.env, OAUTH2_REDIRECT_URL_PORT: '18000' } });
    assert.equal(config.profiles.get('ckms').redirectUrl, 'http://localhost:18000/authorization');
    assert.equal(config.profiles.get('entra').redirectUrl, 'http://localhost:17899/authorization');
  });

  test('a bad OAUTH2_REDIRECT_URL_PORT is a ConfigError naming the file, the profile and the variable', (t) => {
    const s = sandbox(t);
    const file = s.write('.cosmian/kms.json', COSMIAN_LAYOUTS['kms.json']);
    for (const bad of ['abc', '0', '65536', '80.5', '-1']) {
      assertConfigError(() => loadConfig({ env: { ...s.env, OAUTH2_REDIRECT_URL_PORT: bad } }), {
        file,
        profile: 'ckms',
        key: 'OAUTH2_REDIRECT_URL_PORT',
        fromEnv: true,
        says: [/port/, new RegExp(`got "${bad}"`)],
      });
    }
  });

  test('an own profile named ckms wins over the Cosmian file, with a warning', (t) => {
    const s = sandbox(t);
    const cosmian = s.write('.cosmian/ckms.toml', 'this is = not [ valid toml');
    const own = s.writeConfig(seedSection('[profiles.ckms]', ENTRA));
    const config = loadConfig({ env: s.env });
    assert.equal(config.profiles.get('ckms').clientId, ENTRA.client_id);
    assert.equal(config.profiles.get('ckms').sourceKind, 'config');
    assert.equal(config.warnings.length, 1);
    assert.ok(
      config.warnings[0].includes(own) && config.warnings[0].includes(cosmian),
      config.warnings[0],
    );
  });

  test('Cosmian fields are validated with the same rules, naming the key where it sits in the file', (t) => {
    const s = sandbox(t);
    const file = s.write(
      '.cosmian/cosmian.toml',
      COSMIAN_LAYOUTS['cosmian.toml'].replace('https://idp.example.com/token', 'foo'),
    );
    assertConfigError(() => loadConfig({ env: s.env }), {
      file,
      profile: 'ckms',
      key: 'kms_config.http_config.oauth2_conf.token_url',
      says: /expected an http\(s\) URL, got "foo"/,
    });
    writeFileSync(
      file,
      COSMIAN_LAYOUTS['cosmian.toml'].replace('client_id = "cosmian-client"\n', ''),
    );
    assertConfigError(() => loadConfig({ env: s.env }), {
      file,
      profile: 'ckms',
      key: 'kms_config.http_config.oauth2_conf.client_id',
      says: /missing/,
    });
  });

  test('bad JSON in kms.json is a ConfigError with the line', (t) => {
    const s = sandbox(t);
    const file = s.write('.cosmian/kms.json', '{\n  "kms_server_url": "x",\n}\n');
    assertConfigError(() => loadConfig({ env: s.env }), { file, says: /invalid JSON at line 3/ });
  });
});

describe('paths and environment', () => {
  test('config path: --config, then KMS_AGENT_CONFIG, then XDG_CONFIG_HOME, then ~/.config', (t) => {
    const s = sandbox(t);
    const xdg = join(s.home, 'xdg');
    assert.equal(
      resolveConfigPath(undefined, s.env),
      join(s.home, '.config/kms-agent/config.toml'),
    );
    assert.equal(
      resolveConfigPath(undefined, { ...s.env, XDG_CONFIG_HOME: xdg }),
      join(xdg, 'kms-agent/config.toml'),
    );
    assert.equal(
      resolveConfigPath(undefined, {
        ...s.env,
        XDG_CONFIG_HOME: xdg,
        KMS_AGENT_CONFIG: '/etc/agent.toml',
      }),
      '/etc/agent.toml',
    );
    assert.equal(
      resolveConfigPath('/flag.toml', { ...s.env, KMS_AGENT_CONFIG: '/etc/agent.toml' }),
      '/flag.toml',
    );
    assert.equal(resolveStateDir(s.env), join(s.home, '.local/state/kms-agent'));
    assert.equal(
      resolveStateDir({ ...s.env, XDG_STATE_HOME: join(s.home, 'st') }),
      join(s.home, 'st/kms-agent'),
    );

    const flagged = s.write('flag.toml', seedSection('[profiles.flag]', AUTH0));
    const viaEnv = s.write('env.toml', seedSection('[profiles.env]', AUTH0));
    s.write('xdg/kms-agent/config.toml', seedSection('[profiles.xdg]', AUTH0));
    const env = { ...s.env, XDG_CONFIG_HOME: xdg, KMS_AGENT_CONFIG: viaEnv };
    assert.equal(loadConfig({ configPath: flagged, env }).defaultProfile, 'flag');
    assert.equal(loadConfig({ env }).defaultProfile, 'env');
    assert.equal(loadConfig({ env: { ...s.env, XDG_CONFIG_HOME: xdg } }).defaultProfile, 'xdg');
  });

  test('a missing config file at the default path is fine: no profiles, no default', (t) => {
    const s = sandbox(t);
    const config = loadConfig({ env: s.env });
    assert.equal(config.profiles.size, 0);
    assert.equal(config.defaultProfile, undefined);
    assert.deepEqual(config.warnings, []);
  });

  test('a config file named by --config or KMS_AGENT_CONFIG that does not exist is an error naming it', (t) => {
    const s = sandbox(t);
    const missing = join(s.home, 'typo.toml');
    const says = /the file does not exist \(named by --config or KMS_AGENT_CONFIG\)/;
    assertConfigError(() => loadConfig({ configPath: missing, env: s.env }), {
      file: missing,
      says,
    });
    assertConfigError(() => loadConfig({ env: { ...s.env, KMS_AGENT_CONFIG: missing } }), {
      file: missing,
      says,
    });
    // The caller may say otherwise, e.g. for a path it chose itself.
    assert.equal(loadConfig({ configPath: missing, explicit: false, env: s.env }).profiles.size, 0);
    assertConfigError(() => loadConfig({ explicit: true, env: s.env }), {
      file: s.configPath,
      says,
    });
  });

  test('log level: KMS_AGENT_LOG_LEVEL, then log_level, then info; bad ones are ConfigErrors', (t) => {
    const s = sandbox(t);
    assert.equal(loadConfig({ env: s.env }).logLevel, 'info');
    const file = s.writeConfig('log_level = "warn"\n');
    assert.equal(loadConfig({ env: s.env }).logLevel, 'warn');
    assert.equal(loadConfig({ env: { ...s.env, KMS_AGENT_LOG_LEVEL: 'trace' } }).logLevel, 'trace');
    assertConfigError(() => loadConfig({ env: { ...s.env, KMS_AGENT_LOG_LEVEL: 'loud' } }), {
      file,
      key: 'KMS_AGENT_LOG_LEVEL',
      fromEnv: true,
      says: /expected one of "trace".*got "loud"/,
    });
    writeFileSync(file, 'log_level = "verbose"\n');
    assertConfigError(() => loadConfig({ env: s.env }), {
      file,
      key: 'log_level',
      says: /got "verbose"/,
    });
  });

  test('default profile: default_profile, else the only profile, else one named "default", else none', (t) => {
    const s = sandbox(t);
    s.write('.cosmian/ckms.toml', COSMIAN_LAYOUTS['ckms.toml']);
    const file = s.writeConfig(
      `default_profile = "ckms"\n${seedSection('[profiles.entra]', ENTRA)}`,
    );
    assert.equal(
      loadConfig({ env: s.env }).defaultProfile,
      'ckms',
      'a Cosmian profile can be the default',
    );
    writeFileSync(file, `default_profile = "okta"\n${seedSection('[profiles.entra]', ENTRA)}`);
    assertConfigError(() => loadConfig({ env: s.env }), {
      file,
      key: 'default_profile',
      says: [/no profile named "okta"/, /known profiles: entra, ckms/],
    });
    writeFileSync(file, seedSection('[profiles.entra]', ENTRA));
    assert.equal(
      loadConfig({ env: s.env }).defaultProfile,
      undefined,
      'entra and ckms: no default',
    );
    writeFileSync(
      file,
      seedSection('[profiles.entra]', ENTRA) + seedSection('[profiles.default]', AUTH0),
    );
    assert.equal(loadConfig({ env: s.env }).defaultProfile, 'default', 'a profile named "default"');
  });
});

describe('bad input: one clear line naming file, profile and key', () => {
  const BAD_PROFILES = [
    ['an unknown key', 'client_idd = "x"', 'client_idd', /unknown key \(known keys: client_id, /],
    [
      'a wrong type',
      'scopes = "openid email"',
      'scopes',
      /expected a non-empty array of scope names.*got "openid email"/,
    ],
    ['a number for a string', 'audience = 42', 'audience', /expected a non-empty string, got 42/],
    ['a table for a string', 'issuer = { url = "x" }', 'issuer', /got a table/],
    ['a non-URL', 'token_url = "foo"', 'token_url', /expected an http\(s\) URL, got "foo"/],
    [
      'a non-http URL',
      'revocation_url = "ftp://idp.example.com/revoke"',
      'revocation_url',
      /expected an http\(s\) URL/,
    ],
    [
      'plain http off this machine',
      'token_url = "http://idp.example.com/token"',
      'token_url',
      /expected an https URL.*in clear/,
    ],
    [
      'plain http to a lookalike host',
      'issuer = "http://localhost.evil.com/"',
      'issuer',
      /expected an https URL/,
    ],
    [
      'an https redirect',
      'redirect_url = "https://localhost:8080/cb"',
      'redirect_url',
      /loopback http URL with an explicit port/,
    ],
    [
      'a redirect off this machine',
      'redirect_url = "http://example.com:8080/cb"',
      'redirect_url',
      /loopback/,
    ],
    [
      'a redirect without a port',
      'redirect_url = "http://localhost/cb"',
      'redirect_url',
      /explicit port/,
    ],
    [
      'an unknown token kind',
      'token = "refresh"',
      'token',
      /expected one of "auto", "access", "id", got "refresh"/,
    ],
    ['an unknown store', 'store = "disk"', 'store', /expected one of "keychain", "file", "memory"/],
    [
      'an unknown auth method',
      'token_endpoint_auth_method = "client_secret_jwt"',
      'token_endpoint_auth_method',
      /expected one of "none", "client_secret_basic", "client_secret_post", "private_key_jwt"/,
    ],
    [
      'private_key_jwt without a key file',
      'token_endpoint_auth_method = "private_key_jwt"',
      'token_endpoint_auth_method',
      /"private_key_jwt" needs private_key_file/,
    ],
    [
      'a private key file that does not exist',
      'private_key_file = "/nonexistent/ci.pem"',
      'private_key_file',
      /cannot read \/nonexistent\/ci\.pem \(ENOENT\)/,
    ],
    [
      'a key file and a secret method',
      'private_key_file = "/nonexistent/ci.pem"\ntoken_endpoint_auth_method = "none"',
      'private_key_file',
      /private_key_file is used only by "private_key_jwt", not "none"/,
    ],
    [
      'an unknown grant',
      'grant = "password"',
      'grant',
      /expected one of "authorization_code", "client_credentials"/,
    ],
    [
      'client credentials without client authentication',
      'grant = "client_credentials"',
      'grant',
      /needs the client to authenticate: set client_secret, or private_key_file/,
    ],
    [
      'client credentials serving an id_token',
      'grant = "client_credentials"\nclient_secret = "s"\ntoken = "id"',
      'token',
      /the client credentials grant brings no id_token/,
    ],
    [
      'a DPoP token in a file',
      'dpop = true\ntoken_file = true',
      'token_file',
      /a DPoP token is useless without a proof/,
    ],
    ['dpop that is not a boolean', 'dpop = "yes"', 'dpop', /expected true or false/],
    [
      'a secret method without a secret',
      'token_endpoint_auth_method = "client_secret_post"',
      'token_endpoint_auth_method',
      /needs a client_secret/,
    ],
    ['an empty scope list', 'scopes = []', 'scopes', /non-empty array/],
    ['a scope with a space', 'scopes = ["openid email"]', 'scopes', /without spaces/],
    [
      'a redirect to another loopback address',
      'redirect_url = "http://127.0.0.2:8080/cb"',
      'redirect_url',
      /localhost, 127\.0\.0\.1 or \[::1\].*another process could listen on 127\.0\.0\.2/,
    ],
    [
      'a token_file that is not a boolean',
      'token_file = "yes"',
      'token_file',
      /expected true or false, got "yes"/,
    ],
    [
      'a max_age that is not a whole number of seconds',
      'max_age = -5',
      'max_age',
      /expected a whole number of seconds from 0/,
    ],
    [
      'acr_values as an array',
      'acr_values = ["urn:gold"]',
      'acr_values',
      /expected acr values separated by spaces/,
    ],
    [
      'extra_auth_params that is not a table',
      'extra_auth_params = "prompt=consent"',
      'extra_auth_params',
      /expected a table/,
    ],
  ];

  for (const [what, line, key, says] of BAD_PROFILES) {
    test(`bad input, ${what}: ConfigError naming file, profile and key`, (t) => {
      const s = sandbox(t);
      const seedWithoutKey = seedSection('[profiles.entra]', ENTRA).replace(
        new RegExp(`^${key} .*\n`, 'm'),
        '',
      );
      const file = s.writeConfig(`${seedWithoutKey}${line}\n`);
      assertConfigError(() => loadConfig({ env: s.env }), { file, profile: 'entra', key, says });
    });
  }

  test('bad input, missing required fields', (t) => {
    const s = sandbox(t);
    const file = s.writeConfig('[profiles.entra]\nissuer = "https://idp.example.com"\n');
    assertConfigError(() => loadConfig({ env: s.env }), {
      file,
      profile: 'entra',
      key: 'client_id',
      says: /missing \(required\)/,
    });
    writeFileSync(
      file,
      `[profiles.entra]\nclient_id = "x"\nauthorize_url = "${ENTRA.authorize_url}"\n`,
    );
    assertConfigError(() => loadConfig({ env: s.env }), {
      file,
      profile: 'entra',
      key: 'token_url',
      says: /missing \(required unless issuer is set\)/,
    });
  });

  test('bad input, a client_secret of the wrong type is not echoed', (t) => {
    const s = sandbox(t);
    const file = s.writeConfig('[profiles.entra]\nclient_id = "x"\nclient_secret = 123456789\n');
    assertConfigError(() => loadConfig({ env: s.env }), {
      file,
      profile: 'entra',
      key: 'client_secret',
      says: /got a number$/,
    });
  });

  test('bad input, top-level mistakes', (t) => {
    const s = sandbox(t);
    const file = s.writeConfig('default_profil = "entra"\n');
    assertConfigError(() => loadConfig({ env: s.env }), {
      file,
      key: 'default_profil',
      says: /unknown key/,
    });
    writeFileSync(file, 'store_dir = "tokens"\n');
    assertConfigError(() => loadConfig({ env: s.env }), {
      file,
      key: 'store_dir',
      says: /absolute path/,
    });
    writeFileSync(file, 'profiles = "entra"\n');
    assertConfigError(() => loadConfig({ env: s.env }), {
      file,
      key: 'profiles',
      says: /expected a table/,
    });
    writeFileSync(file, '[profiles]\nentra = "x"\n');
    assertConfigError(() => loadConfig({ env: s.env }), {
      file,
      profile: 'entra',
      says: /expected a table/,
    });
    writeFileSync(file, '[profiles."../evil"]\nclient_id = "x"\n');
    assertConfigError(() => loadConfig({ env: s.env }), {
      file,
      profile: '../evil',
      says: /invalid profile name/,
    });
  });

  test('bad TOML is a ConfigError with the line', (t) => {
    const s = sandbox(t);
    const file = s.writeConfig('[profiles.entra]\nclient_id = "x"\ntoken_url = \n');
    assertConfigError(() => loadConfig({ env: s.env }), {
      file,
      says: /invalid TOML at line 3, column \d+/,
    });
  });

  test("a missing closing quote: the parser's words, and a hint (issue 20, trap 4)", (t) => {
    const s = sandbox(t);
    for (const [text, line] of [
      ['[profiles.entra]\nclient_id = "x\ntoken_url = "https://idp.example.com/token"\n', 2],
      ["[profiles.entra]\r\nclient_id = 'x\r\n", 2],
      ['[profiles.entra]\nclient_id = "x', 2],
    ]) {
      const file = s.writeConfig(text);
      assertConfigError(() => loadConfig({ env: s.env }), {
        file,
        says: new RegExp(
          `invalid TOML at line ${line}, column \\d+: .* \\(an unclosed quote on line ${line}\\?\\)$`,
        ),
      });
    }
    s.writeConfig('[profiles.entra]\nclient_id = "x\u0001y"\n');
    assert.throws(
      () => loadConfig({ env: s.env }),
      (err) => /control characters/.test(err.message) && !err.message.includes('unclosed quote'),
      'a control character inside a closed string is no missing quote',
    );
  });

  test('an unreadable config file is a ConfigError', (t) => {
    const s = sandbox(t);
    mkdirSync(s.configPath, { recursive: true }); // a directory where the file should be: EISDIR
    assertConfigError(() => loadConfig({ env: s.env }), {
      file: s.configPath,
      says: /cannot read/,
    });
  });
});
