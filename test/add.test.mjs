// `kms-agent add NAME --issuer URL --client-id ID`: the provider's discovery document is read and
// shown, the profile is written into the config with every other byte kept, the running agent
// loads it, and login is offered. Providers that cannot work (no discovery, no S256) are refused.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createServer } from 'node:http';
import { existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { freePort } from '../dist/demo/freePort.js';
import {
  LOCAL_CONFIDENTIAL_CLIENT_ID,
  LOCAL_CONFIDENTIAL_CLIENT_SECRET,
  LOCAL_PUBLIC_CLIENT_ID,
} from '../dist/demo/localProvider.js';
import { CLI, makeSandbox } from './support/harness.mjs';
import { oidcProviderClient, serviceClient } from './support/serviceClients.mjs';
import { hasCommand } from './support/processes.mjs';

const today = new Date().toISOString().slice(0, 10);
const mode = (path) => statSync(path).mode & 0o777;

/** A sandbox with no config yet, at the default place (~/.config/kms-agent/config.toml) of a fresh HOME. */
async function freshHome(options = {}) {
  const sb = await makeSandbox({
    ...options,
    env: { KMS_AGENT_CONFIG: undefined, ...(options.env ?? {}) },
  });
  return { sb, configPath: join(sb.env.XDG_CONFIG_HOME, 'kms-agent', 'config.toml') };
}

test('add on a fresh HOME: shows what the provider supports, creates the config 0600 in a 0700 directory, then login works', async (t) => {
  const { sb, configPath } = await freshHome({ provider: { deviceInterval: 1 } });
  const issuer = sb.provider.issuer;
  try {
    const r = await sb.cli([
      'add',
      'work',
      '--issuer',
      issuer,
      '--client-id',
      LOCAL_PUBLIC_CLIENT_ID,
    ]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(
      r.stdout,
      [
        `Provider ${issuer} (discovery document ${issuer}/.well-known/openid-configuration):`,
        '  PKCE S256:       yes',
        '  device flow:     yes: `kms-agent login --device` works where no browser can open',
        '  revocation:      yes: `kms-agent logout` revokes the refresh token',
        '  refresh tokens:  yes (offline_access or the refresh_token grant is listed)',
        '  RFC 9207 iss:    yes: each login checks which provider answered',
        `Added profile work in ${configPath}.`,
        'Next, log in: kms-agent login --profile work',
        '',
      ].join('\n'),
    );
    assert.equal(r.stderr, '');
    t.diagnostic(r.stdout.trimEnd());
    assert.equal(
      readFileSync(configPath, 'utf8'),
      `# added by kms-agent add on ${today}\n[profiles.work]\nclient_id = "${LOCAL_PUBLIC_CLIENT_ID}"\nissuer    = "${issuer}"\n`,
    );
    assert.equal(mode(configPath), 0o600);
    assert.equal(mode(join(sb.env.XDG_CONFIG_HOME, 'kms-agent')), 0o700);
    assert.equal(mode(sb.env.XDG_CONFIG_HOME), 0o700);

    await sb.login();
    const token = await sb.token();
    assert.equal(token.code, 0, token.stderr);
    assert.match((await sb.cli(['whoami'])).stdout, /^ {2}subject {3}alice$/m);

    // A second profile (issue 20, trap 1): the first stays the default, so a plain `token` still works.
    const before = readFileSync(configPath, 'utf8');
    const second = await sb.cli([
      'add',
      'other',
      '--issuer',
      issuer,
      '--client-id',
      LOCAL_PUBLIC_CLIENT_ID,
    ]);
    assert.equal(second.code, 0, second.stderr);
    assert.match(
      second.stdout,
      new RegExp(
        `^Commands without --profile still use profile work: default_profile = "work" was added at the top of ${configPath}\\.$`,
        'm',
      ),
    );
    const after = readFileSync(configPath, 'utf8');
    assert.ok(
      after.startsWith(
        'default_profile = "work"   # set by kms-agent add when it added a second profile\n',
      ),
      after,
    );
    assert.ok(after.includes(before), 'the rest of the file is kept byte for byte');
    const plain = await sb.token();
    assert.equal(plain.code, 0, `token without --profile after a second profile: ${plain.stderr}`);
    const third = await sb.cli([
      'add',
      'third',
      '--issuer',
      issuer,
      '--client-id',
      LOCAL_PUBLIC_CLIENT_ID,
    ]);
    assert.equal(third.code, 0, third.stderr);
    assert.equal(
      readFileSync(configPath, 'utf8').match(/^default_profile/gm).length,
      1,
      'a default_profile that is set is left alone',
    );
  } finally {
    await sb.close();
  }
});

const HAND_WRITTEN = `# my settings: keep this comment
log_level = "info"   # inline comment

[profiles.old]
client_id = "old-client"   # trailing comment
authorize_url = "https://idp.example.com/authorize"
token_url     = "https://idp.example.com/token"
`;

test('add keeps the rest of the file byte for byte; an existing profile needs --force, which replaces only its section', async () => {
  const { sb, configPath } = await freshHome();
  const issuer = sb.provider.issuer;
  try {
    mkdirSync(join(sb.env.XDG_CONFIG_HOME, 'kms-agent'), { recursive: true, mode: 0o700 });
    writeFileSync(configPath, HAND_WRITTEN, { mode: 0o640 });
    let r = await sb.cli([
      'add',
      'work',
      '--issuer',
      issuer,
      '--client-id',
      LOCAL_PUBLIC_CLIENT_ID,
      '--scopes',
      'openid email',
    ]);
    assert.equal(r.code, 0, r.stderr);
    const section = (clientId, extra = '') =>
      `# added by kms-agent add on ${today}\n[profiles.work]\nclient_id = "${clientId}"\nissuer    = "${issuer}"\nscopes    = ["openid", "email"]\n${extra}`;
    const keptDefault =
      'default_profile = "old"   # set by kms-agent add when it added a second profile\n';
    assert.equal(
      readFileSync(configPath, 'utf8'),
      `${keptDefault}${HAND_WRITTEN}\n${section(LOCAL_PUBLIC_CLIENT_ID)}`,
    );
    assert.equal(mode(configPath), 0o640, 'the file keeps its mode');
    assert.match(
      r.stdout,
      /^Commands without --profile still use profile old: default_profile = "old" was added at the top of /m,
    );

    // A section written after it, with its own comment, must survive a --force of "work".
    const after =
      '\n# the next one\n[profiles.later]\nclient_id = "later"\nissuer = "https://later.example.com"\n';
    writeFileSync(configPath, readFileSync(configPath, 'utf8') + after);
    const before = readFileSync(configPath, 'utf8');
    r = await sb.cli(['add', 'work', '--issuer', issuer, '--client-id', 'other']);
    assert.equal(r.code, 1);
    assert.equal(
      r.stderr,
      `kms-agent: profile work already exists in ${configPath}: add --force to replace it, or choose another name\n`,
    );
    assert.equal(readFileSync(configPath, 'utf8'), before, 'nothing written');
    assert.equal(
      sb.provider.stats.byPath['/.well-known/openid-configuration'],
      1,
      'refused before asking the provider',
    );

    r = await sb.cli(
      [
        'add',
        'work',
        '--issuer',
        issuer,
        '--client-id',
        LOCAL_CONFIDENTIAL_CLIENT_ID,
        '--scopes',
        'openid email',
        '--client-secret',
        '-',
        '--force',
      ],
      {
        input: `${LOCAL_CONFIDENTIAL_CLIENT_SECRET}\n`,
      },
    );
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^Replaced profile work in /m);
    const secretLine = `client_secret = "${LOCAL_CONFIDENTIAL_CLIENT_SECRET}"\n`;
    assert.equal(
      readFileSync(configPath, 'utf8'),
      `${keptDefault}${HAND_WRITTEN}\n${section(LOCAL_CONFIDENTIAL_CLIENT_ID, secretLine)}${after}`,
    );
    assert.ok(
      !(r.stdout + r.stderr).includes(LOCAL_CONFIDENTIAL_CLIENT_SECRET),
      'the secret is never printed',
    );
    assert.equal(
      r.stderr,
      `kms-agent: warning: ${configPath} holds a client_secret and is readable by group or others: run chmod 600 ${configPath}\n`,
    );
    const login = await sb.cli(['login', '--profile', 'work']);
    assert.equal(login.code, 0, login.stderr);
  } finally {
    await sb.close();
  }
});

test('a running agent loads the added profile at once: the next token knows it, no stop', async () => {
  const { sb, configPath } = await freshHome();
  try {
    assert.equal((await sb.cli(['start'])).code, 0);
    const pid = (await sb.rpc('agent.status', {})).pid;
    const r = await sb.cli([
      'add',
      'work',
      '--issuer',
      sb.provider.issuer,
      '--client-id',
      LOCAL_PUBLIC_CLIENT_ID,
    ]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(
      r.stdout,
      new RegExp(`^The running agent \\(pid ${pid}\\) loaded it: profiles work\\.$`, 'm'),
    );
    const token = await sb.token();
    assert.equal(token.code, 5, 'the new profile, not logged in yet');
    assert.match(token.stderr, /not logged in to profile work/);
    assert.equal(existsSync(configPath), true);
  } finally {
    await sb.close();
  }
});

test('add --client-credentials: a service profile with a secret from stdin or a key file; no login', async () => {
  const secret = await serviceClient('svcBasic', 'client_secret_basic');
  const keyed = await serviceClient('svcEd', 'private_key_jwt', { alg: 'EdDSA' });
  const { sb, configPath } = await freshHome({
    provider: { clientCredentialsTtl: 60, clients: [secret, keyed].map(oidcProviderClient) },
  });
  const issuer = sb.provider.issuer;
  const add = (name, clientId, extra, input) =>
    sb.cli(['add', name, '--issuer', issuer, '--client-id', clientId, ...extra], { input });
  try {
    const missing = await add('ci', secret.clientId, ['--client-credentials']);
    assert.equal(missing.code, 1);
    assert.match(
      missing.stderr,
      /--client-credentials needs .*--client-secret - .* --private-key FILE/,
    );
    assert.equal(existsSync(configPath), false, 'nothing written');

    sb.rememberSecret(secret.secret);
    const r = await add(
      'ci',
      secret.clientId,
      ['--client-credentials', '--client-secret', '-'],
      `${secret.secret}\n`,
    );
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^ {2}client creds: +listed/m);
    assert.match(r.stdout, /^ {2}private_key_jwt: listed$/m);
    assert.match(r.stdout, /No login is needed: `kms-agent token --profile ci` gets a token/);
    assert.doesNotMatch(r.stdout, /log in/i);
    assert.match(readFileSync(configPath, 'utf8'), /^grant {5}= "client_credentials"$/m);

    const keyFile = join(sb.dir, 'ed.pem');
    writeFileSync(keyFile, keyed.privateKeyPem, { mode: 0o600 });
    const k = await add('svc', keyed.clientId, ['--client-credentials', '--private-key', keyFile]);
    assert.equal(k.code, 0, k.stderr);
    assert.match(
      readFileSync(configPath, 'utf8'),
      new RegExp(`^private_key_file = "${keyFile}"$`, 'm'),
    );

    for (const profile of ['ci', 'svc']) {
      const token = await sb.token(['--profile', profile]);
      assert.equal(token.code, 0, token.stderr);
      assert.match(token.stdout, /^\S{20,}\n$/, 'an (opaque) access token');
    }
    assert.equal(sb.provider.stats.grants.client_credentials, 2);
  } finally {
    await sb.close();
  }
});

/** A provider that cannot work: no discovery document at /none, one without S256 at /plain, another issuer's at /wrong. */
async function brokenProviders() {
  const port = await freePort();
  const base = `http://127.0.0.1:${port}`;
  const document = (issuer, extra) => ({
    issuer,
    authorization_endpoint: `${issuer}/auth`,
    token_endpoint: `${issuer}/token`,
    ...extra,
  });
  const answers = {
    '/plain/.well-known/openid-configuration': document(`${base}/plain`, {
      code_challenge_methods_supported: ['plain'],
    }),
    '/wrong/.well-known/openid-configuration': document('https://someone-else.example.com', {}),
    '/cleartext/.well-known/openid-configuration': document(`${base}/cleartext`, {
      token_endpoint: 'http://idp.example.com/token',
    }),
  };
  const server = createServer((req, res) => {
    const body = answers[req.url];
    res.writeHead(body ? 200 : 404, { 'content-type': body ? 'application/json' : 'text/plain' });
    res.end(body ? JSON.stringify(body) : 'not found');
  });
  await new Promise((resolve) => server.listen(port, '127.0.0.1', resolve));
  return { base, close: () => new Promise((resolve) => server.close(resolve)) };
}

test('add refuses a provider it could not use, saying why, and writes nothing', async (t) => {
  const { sb, configPath } = await freshHome({ provider: null, config: '' });
  const broken = await brokenProviders();
  const closed = `http://127.0.0.1:${await freePort()}`;
  try {
    const cases = [
      [
        `${broken.base}/none`,
        `kms-agent: ${broken.base}/none has no OpenID Connect discovery document: GET ${broken.base}/none/.well-known/openid-configuration answered HTTP 404; check the issuer URL (it is the "iss" of the provider's tokens)`,
      ],
      [
        `${broken.base}/plain`,
        `kms-agent: ${broken.base}/plain does not support PKCE with S256 (its code_challenge_methods_supported is [plain]): kms-agent always uses S256, so it cannot log in there`,
      ],
      [
        `${broken.base}/wrong`,
        `kms-agent: the discovery document at ${broken.base}/wrong/.well-known/openid-configuration names "https://someone-else.example.com", not ${broken.base}/wrong: use --issuer https://someone-else.example.com`,
      ],
      [
        `${broken.base}/cleartext`,
        `kms-agent: the discovery document of ${broken.base}/cleartext names token_endpoint http://idp.example.com/token: expected an https URL (plain http only to localhost, 127.0.0.0/8 or ::1: tokens would travel in clear)`,
      ],
      [
        closed,
        new RegExp(
          `^kms-agent: cannot read the discovery document of ${closed} at ${closed}/\\.well-known/openid-configuration \\(ECONNREFUSED.*\\): check the issuer URL and the network$`,
        ),
      ],
      [
        'http://idp.example.com',
        'kms-agent: --issuer http://idp.example.com: expected an https URL (plain http only to localhost, 127.0.0.0/8 or ::1: tokens would travel in clear)',
      ],
    ];
    for (const [issuer, says] of cases) {
      const r = await sb.cli(['add', 'work', '--issuer', issuer, '--client-id', 'c']);
      assert.equal(r.code, 1, `${issuer}: ${r.stderr}`);
      if (typeof says === 'string') assert.equal(r.stderr.trimEnd(), says);
      else assert.match(r.stderr.trimEnd(), says);
      assert.equal(existsSync(configPath), false, `${issuer}: no config written`);
      t.diagnostic(r.stderr.trimEnd());
    }
    const badName = await sb.cli([
      'add',
      '-bad',
      '--issuer',
      'https://idp.example.com',
      '--client-id',
      'c',
    ]);
    assert.equal(badName.code, 1);
    // Issue 20, trap 2: one scope named "openid,email,offline_access" made a login fail later.
    const commas = await sb.cli([
      'add',
      'work',
      '--issuer',
      `${broken.base}/none`,
      '--client-id',
      'c',
      '--scopes',
      'openid,email,offline_access',
    ]);
    assert.equal(commas.code, 1);
    assert.equal(
      commas.stderr,
      'kms-agent: --scopes "openid,email,offline_access" is not a list of scopes: scopes are separated by spaces ("openid email offline_access") or, in the config, written one per string (["openid", "email", "offline_access"])\n',
    );
    assert.equal(existsSync(configPath), false, 'nothing written');
  } finally {
    await broken.close();
    await sb.close();
  }
});

test(
  'on a terminal, add asks "Log in now? [Y/n]" and logs in on yes',
  { skip: !hasCommand('script') && 'needs script (util-linux)' },
  async () => {
    const { sb } = await freshHome();
    try {
      const command = [
        process.execPath,
        CLI,
        'add',
        'work',
        '--issuer',
        sb.provider.issuer,
        '--client-id',
        LOCAL_PUBLIC_CLIENT_ID,
      ].join(' ');
      const child = spawn('script', ['-q', '-e', '-c', command, '/dev/null'], {
        env: sb.env,
        stdio: ['pipe', 'pipe', 'pipe'],
      });
      let text = '';
      child.stdout.on('data', (d) => {
        text += d;
        if (text.includes('Log in now? [Y/n] ')) child.stdin.end('y\n');
      });
      const code = await new Promise((resolve) => child.on('close', resolve));
      sb.logs.push(text);
      assert.equal(code, 0, text);
      assert.match(text, /Log in now\? \[Y\/n\] /);
      assert.match(text, /logged in to profile work as alice@example\.com/);
      assert.equal((await sb.token()).code, 0);
    } finally {
      await sb.close();
    }
  },
);
