// The config of a running agent is read again when its file changes, on SIGHUP and on
// `agent.reload`; a broken edit keeps the config that runs and says why (docs/configuration.md).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  chmodSync,
  existsSync,
  linkSync,
  mkdirSync,
  renameSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { dirname, join } from 'node:path';
import { makeSandbox, profileToml } from './support/harness.mjs';

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** Polls `check` until it returns a truthy value; the watcher reacts within a fraction of a second. */
async function eventually(check, what, ms = 5000) {
  const deadline = Date.now() + ms;
  for (;;) {
    const value = await check();
    if (value) return value;
    if (Date.now() > deadline) assert.fail(`${what} within ${ms} ms`);
    await sleep(50);
  }
}

/** Writes a file the way editors do: a temp file renamed over the old one. */
function writeLikeAnEditor(path, text) {
  mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
  writeFileSync(`${path}.swp`, text, { mode: 0o600 });
  renameSync(`${path}.swp`, path);
}

const profilesOf = async (sb) => (await sb.rpc('profiles.list', {})).map((p) => p.name).sort();

test('reload: a config written after the agent started, an edit, a broken edit, SIGHUP, a changed endpoint', async (t) => {
  // The default config path, which does not exist yet (not even its directory), as on a fresh HOME.
  const sb = await makeSandbox({ env: { KMS_AGENT_CONFIG: undefined } });
  const configPath = join(sb.env.XDG_CONFIG_HOME, 'kms-agent', 'config.toml');
  const issuer = sb.provider.issuer;
  try {
    await t.test(
      'a fresh HOME: no profile, then the user writes the config and the running agent sees it',
      async () => {
        rmSync(sb.env.XDG_CONFIG_HOME, { recursive: true, force: true });
        assert.equal(
          (await sb.cli(['start'])).code,
          0,
          'start starts an agent even with nothing to serve yet',
        );
        const before = await sb.token();
        assert.equal(before.code, 1);
        assert.match(before.stderr, /no profile is configured/);
        const pid = (await sb.rpc('agent.status', {})).pid;
        writeLikeAnEditor(configPath, profileToml('local', issuer, { store: 'file' }));
        await eventually(
          async () => (await sb.token()).code === 5,
          'the new profile is known (login required)',
        );
        assert.equal((await sb.rpc('agent.status', {})).pid, pid, 'the same agent: no restart');
        await sb.login();
        assert.equal((await sb.token()).code, 0);
      },
    );

    await t.test(
      'an edit that adds a profile: used at once, the logged-in profile keeps its login and tokens',
      async () => {
        const token = (await sb.token()).stdout;
        const requests = sb.provider.stats.requests;
        writeLikeAnEditor(
          configPath,
          `${profileToml('local', issuer, { store: 'file' })}\n${profileToml('second', issuer, { store: 'file' })}`,
        );
        await eventually(
          async () => (await profilesOf(sb)).join() === 'local,second',
          'the second profile is listed',
        );
        assert.equal(
          (await sb.token(['--profile', 'local'])).stdout,
          token,
          'same token, from the cache',
        );
        assert.equal(sb.provider.stats.requests, requests, 'no provider call');
        assert.equal(
          (await sb.token(['--profile', 'second'])).code,
          5,
          'the new profile is not logged in',
        );
      },
    );

    await t.test(
      'a broken edit keeps the config that runs; status, reload and token say why',
      async () => {
        writeLikeAnEditor(
          configPath,
          `${profileToml('local', issuer, { store: 'file' })}\n[profiles.second\nclient_id = `,
        );
        const status = await eventually(async () => {
          const s = await sb.rpc('agent.status', {});
          return s.config_error ? s : undefined;
        }, 'status shows the config error');
        assert.match(
          status.config_error,
          new RegExp(`^config ${configPath.replace(/[.]/g, '\\.')}: invalid TOML at line \\d+`),
        );
        const error = await sb.rpc('agent.reload', {}).catch((e) => e);
        assert.equal(error.reason, 'CONFIG_ERROR');
        assert.match(error.message, /invalid TOML.*the agent keeps the config it had/);
        assert.deepEqual(
          await profilesOf(sb),
          ['local', 'second'],
          'the last good config still runs',
        );
        const served = await sb.rpc('token.get', { profile: 'local' });
        assert.match(served.warning, /invalid TOML/, 'a token is served, with the warning');
        sb.rememberSecret(served.token);
        const unknown = await sb.rpc('token.get', { profile: 'third' }).catch((e) => e);
        assert.match(unknown.message, /no profile named third.*the config has an error/);
      },
    );

    await t.test('SIGHUP reloads; a fixed file clears the error', async () => {
      // The file is fixed through a hard link in another directory: the watcher of the config's
      // directory sees nothing, so only SIGHUP can make the agent read it.
      const alias = join(sb.dir, 'alias.toml');
      linkSync(configPath, alias);
      writeFileSync(alias, profileToml('local', issuer, { store: 'file' }));
      rmSync(alias);
      await sleep(500);
      assert.ok((await sb.rpc('agent.status', {})).config_error, 'not reloaded by itself');
      const pid = (await sb.rpc('agent.status', {})).pid;
      process.kill(pid, 'SIGHUP');
      await eventually(
        async () =>
          (await sb.rpc('agent.status', {})).config_error === undefined &&
          (await profilesOf(sb)).join() === 'local',
        'reloaded',
      );
      assert.equal((await sb.rpc('token.get', { profile: 'local' })).warning, undefined);
      assert.deepEqual((await sb.rpc('agent.reload', {})).profiles, ['local']);
    });

    await t.test(
      'a changed token endpoint drops the cached tokens and the login: the store key changed',
      async () => {
        writeLikeAnEditor(
          configPath,
          profileToml('local', issuer, { store: 'file', token_url: `${issuer}/token?moved` }),
        );
        await eventually(async () => (await sb.token()).code === 5, 'the profile is logged out');
        const status = (await sb.rpc('agent.status', {})).profiles[0];
        assert.equal(status.has_refresh_token, false);
        // Back to the old endpoints: the old login (its key) is found again in the store.
        writeLikeAnEditor(configPath, profileToml('local', issuer, { store: 'file' }));
        await eventually(
          async () => (await sb.token()).code === 0,
          'the old login is served again',
        );
      },
    );
  } finally {
    await sb.close();
  }
});

test('through the CLI: a running agent picks up an edit for the next token (no stop); reload and status say what happened', async (t) => {
  const sb = await makeSandbox({ env: { KMS_AGENT_CONFIG: undefined } });
  const configPath = join(sb.env.XDG_CONFIG_HOME, 'kms-agent', 'config.toml');
  const issuer = sb.provider.issuer;
  try {
    // A fresh HOME: the first token starts no agent, which would have nothing to serve (issue 20,
    // trap 7), and says how to add a profile; so do the credential helpers and whoami.
    const noProfile = `no profile is configured in ${configPath}: add one with \`kms-agent add NAME --issuer URL --client-id ID\`, or set up the Cosmian CLI's ckms.toml`;
    for (const args of [['token'], ['kubectl-credential'], ['whoami'], ['exec', '--', 'true']]) {
      const r = await sb.cli(args);
      assert.equal(r.code, 1, `${args[0]}: ${r.stderr}`);
      assert.equal(
        r.stderr,
        `kms-agent: ${noProfile} (no agent was started: it would have nothing to serve)\n`,
        args[0],
      );
      assert.equal(existsSync(sb.socketPath), false, `${args[0]}: no agent started`);
      assert.equal(
        existsSync(sb.logPath),
        false,
        `${args[0]}: no agent launched (it would have opened its log)`,
      );
    }
    // An agent started on purpose waits for the config, and says the same.
    assert.equal((await sb.cli(['start'])).code, 0);
    let r = await sb.token();
    assert.equal(r.code, 1);
    assert.equal(r.stderr, `kms-agent: ${noProfile}\n`);
    const pid = (await sb.rpc('agent.status', {})).pid;

    // The user writes the config: the next token (no stop, no reload) knows the profile.
    writeLikeAnEditor(configPath, profileToml('local', issuer, { store: 'file' }));
    r = await eventually(async () => {
      const next = await sb.token();
      return next.code === 5 ? next : undefined;
    }, 'the new profile is used');
    assert.match(r.stderr, /not logged in to profile local: run `kms-agent login --profile local`/);
    await sb.login();
    const idToken = (await sb.token()).stdout.trim();
    assert.equal(idToken.split('.').length, 3, 'token = "auto": the id_token, a JWT');

    // An edit of the profile itself: `kms-agent reload` applies it now, and the next token follows it.
    writeLikeAnEditor(configPath, profileToml('local', issuer, { store: 'file', token: 'access' }));
    r = await sb.cli(['reload']);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, 'config reloaded: profiles local\n');
    r = await sb.token();
    assert.equal(r.code, 0, r.stderr);
    assert.notEqual(r.stdout.trim(), idToken);
    assert.equal(
      r.stdout.trim().split('.').length,
      1,
      'token = "access": the opaque access token of the same login',
    );
    assert.equal((await sb.rpc('agent.status', {})).pid, pid, 'the same agent all along');

    // A broken edit: reload exits 1 with the error, the old config stays, status shows it.
    writeLikeAnEditor(
      configPath,
      `${profileToml('local', issuer, { store: 'file', token: 'access' })}\n[profiles.second\n`,
    );
    r = await sb.cli(['reload']);
    assert.equal(r.code, 1);
    assert.match(
      r.stderr,
      new RegExp(
        `^kms-agent: config ${configPath.replace(/[.]/g, '\\.')}: invalid TOML at line \\d+.*\\(the agent keeps the config it had; fix the file, then run \`kms-agent reload\`\\)\\n$`,
      ),
    );
    r = await sb.cli(['status']);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, new RegExp(`^config ${configPath.replace(/[.]/g, '\\.')}$`, 'm'));
    const keeps =
      /\(the agent still uses the config it had: fix the file, then run `kms-agent reload`\)/;
    const invalid = 'config .*: invalid TOML at line \\d+';
    assert.match(r.stderr, new RegExp(`^kms-agent: warning: ${invalid}.* ${keeps.source}\n$`));
    assert.doesNotMatch(r.stdout, /invalid TOML/, 'said once, on stderr');
    const json = JSON.parse((await sb.cli(['status', '--json'])).stdout);
    assert.match(json.config_error, /invalid TOML/);
    assert.equal(json.config, configPath);
    r = await sb.token();
    assert.equal(r.code, 0, 'the last good config still serves tokens');
    assert.match(r.stderr, /^kms-agent: warning: config .*invalid TOML/);
    t.diagnostic(json.config_error);

    // Fixed: reload is clean, status has no error.
    writeLikeAnEditor(configPath, profileToml('local', issuer, { store: 'file' }));
    assert.equal((await sb.cli(['reload'])).code, 0);
    assert.doesNotMatch((await sb.cli(['status'])).stdout, /config error/);
    assert.equal(JSON.parse((await sb.cli(['status', '--json'])).stdout).config_error, undefined);

    // stop prints what eval needs, as ssh-agent -k does; then reload has no agent: exit 2.
    r = await sb.cli(['stop']);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(
      r.stdout,
      `unset KMS_AGENT_SOCK;\nunset KMS_AGENT_PID;\necho Agent pid ${pid} killed;\n`,
    );
    r = await sb.cli(['--no-autostart', 'reload']);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /no agent is running/);
  } finally {
    await sb.close();
  }
});

test('reload says what start says (issue 20): a client_secret others can read, several profiles and no default', async () => {
  const sb = await makeSandbox();
  const issuer = sb.provider.issuer;
  try {
    const start = await sb.cli(['start']);
    assert.equal(start.code, 0, start.stderr);
    assert.equal(start.stderr, '');
    // A second profile by hand, with a secret, in a file others can read: both things to say.
    writeFileSync(
      sb.configPath,
      `${profileToml('local', issuer)}\n${profileToml('second', issuer, { client_secret: 'a-secret-value' })}`,
      { mode: 0o644 },
    );
    chmodSync(sb.configPath, 0o644);
    const r = await sb.cli(['reload']);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, 'config reloaded: profiles local, second\n');
    assert.equal(
      r.stderr,
      `kms-agent: warning: ${sb.configPath} holds a client_secret and is readable by group or others: run chmod 600 ${sb.configPath}\n` +
        `kms-agent: warning: several profiles (local, second) and no default_profile: commands without --profile now fail; set default_profile in ${sb.configPath}\n`,
    );
    const restarted = await sb.cli(['stop']).then(() => sb.cli(['start']));
    assert.match(
      restarted.stderr,
      /holds a client_secret and is readable by group or others/,
      'the same words as start',
    );
  } finally {
    await sb.close();
  }
});
