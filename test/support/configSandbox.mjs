// In-process config tests: a throwaway HOME to write config files into, the one-line ConfigError
// check, and the seed page's examples (Cosmian KMS "Using PKCE Authentication with KMS").
import assert from 'node:assert/strict';
import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { ConfigError } from '../../dist/config/config.js';

/** A throwaway HOME; env holds only what a test passes explicitly. */
export function sandbox(t) {
  const home = mkdtempSync(join(tmpdir(), 'kms-agent-config-'));
  t.after(() => rmSync(home, { recursive: true, force: true }));
  const write = (relative, text, mode = 0o600) => {
    const path = join(home, relative);
    mkdirSync(dirname(path), { recursive: true });
    writeFileSync(path, text);
    chmodSync(path, mode);
    return path;
  };
  return {
    home,
    env: { HOME: home },
    write,
    writeConfig: (text, mode) => write('.config/kms-agent/config.toml', text, mode),
    configPath: join(home, '.config/kms-agent/config.toml'),
  };
}

/** The error must be a ConfigError whose one-line message names the file, the profile and the key. */
export function assertConfigError(fn, { file, profile, key, fromEnv = false, says }) {
  assert.throws(fn, (err) => {
    assert.ok(err instanceof ConfigError, `expected a ConfigError, got ${err}`);
    assert.equal(err.file, file);
    assert.equal(err.profile, profile);
    assert.equal(err.key, key);
    assert.ok(!err.message.includes('\n'), `one line: ${err.message}`);
    assert.ok(err.message.startsWith(`config ${file}`), err.message);
    if (profile !== undefined) assert.ok(err.message.includes(`profile "${profile}"`), err.message);
    if (key !== undefined) {
      const named = fromEnv ? `environment variable ${key}` : `key "${key}"`;
      assert.ok(err.message.includes(named), err.message);
    }
    for (const part of [says].flat().filter(Boolean)) assert.match(err.message, part);
    return true;
  });
}

export const ENTRA = {
  client_id: 'f052524e-7518-40e7-2579-219c0b48b125',
  authorize_url:
    'https://login.microsoftonline.com/612da4de-35c0-42de-ba56-174c4e562c96/oauth2/authorize',
  token_url: 'https://login.microsoftonline.com/612da4de-35c0-42de-f3c6-174b69062c96/oauth2/token',
};
export const AUTH0 = {
  client_id: 'OUfH4FuzDAW99Ck3R4Rb7ROziOZEalIH',
  authorize_url: 'https://acme.eu.auth0.com/authorize',
  token_url: 'https://acme.eu.auth0.com/oauth/token',
};
export const seedSection = (header, idp) => `${header}
client_id = "${idp.client_id}"
authorize_url = "${idp.authorize_url}"
token_url = "${idp.token_url}"
scopes = [ "email", "openid", ]
# client_secret = <-- Not Set
`;

export const OWN_ENTRA = `default_profile = "entra"

[profiles.entra]
client_id     = "${ENTRA.client_id}"
authorize_url = "${ENTRA.authorize_url}"
token_url     = "${ENTRA.token_url}"
scopes        = ["email", "openid", "offline_access"]
`;

const OAUTH2_FIELDS = `client_id = "cosmian-client"
authorize_url = "https://idp.example.com/authorize"
token_url = "https://idp.example.com/token"
scopes = ["openid", "email"]
client_secret = ""
`;

/** Each layout of the Cosmian CLI's file, with its other settings around the OAuth section. */
export const COSMIAN_LAYOUTS = {
  'ckms.toml': `[http_config]
server_url = "https://kms.example.com"
access_token = "do-not-touch"
accept_invalid_certs = false

[http_config.oauth2_conf]
${OAUTH2_FIELDS}`,
  'cosmian.toml': `[kms_config]
print_json = false
[kms_config.http_config]
server_url = "https://kms.example.com"
ssl_client_pkcs12_path = "./certificates/john.doe.acme.p12"
ssl_client_pkcs12_password = "pkcs12_password"
[kms_config.http_config.oauth2_conf]
${OAUTH2_FIELDS}
[findex_config.http_config]
server_url = "http://0.0.0.0:6668"
`,
  'kms.toml': `[kms_config.http_config]
server_url = "https://kms.example.com"
[kms_config.http_config.oauth2_conf]
${OAUTH2_FIELDS}`,
  'kms.json': JSON.stringify(
    {
      kms_server_url: 'https://kms.example.com',
      kms_access_token: 'do-not-touch',
      kms_database_secret: null,
      oauth2_conf: {
        client_id: 'cosmian-client',
        authorize_url: 'https://idp.example.com/authorize',
        token_url: 'https://idp.example.com/token',
        scopes: ['openid', 'email'],
        client_secret: null,
      },
    },
    null,
    2,
  ),
};
